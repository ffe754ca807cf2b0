"""The OpenAPI document, the endpoints and try-it pages, and fuzzing the live app from the document."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.views import serve
from django.test import Client, RequestFactory, override_settings
from django.urls import include, path
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from pydantic import BaseModel

from motia import http
from motia_django.registry import Registry, get_registry
from motia_django.steps.definition import StepDefinition
from motia_django.workbench.openapi import openapi_document

pytestmark = pytest.mark.django_db(transaction=True)

SWAGGER_ASSETS = ("motia_django/swagger-ui/swagger-ui-bundle.js", "motia_django/swagger-ui/swagger-ui.css")

#: Schemathesis' seed for the fuzz run, so that every run sends the same requests.
FUZZ_SEED = 20240601

#: Operations left out of fuzzing, and why.
NOT_FUZZED = (
    "/stream",  # streams server-sent events for a second per request
    "/core/stream/async", "/core/stream/sync",  # stream for up to 20 s unless the client goes away
    "/responses/{kind}",  # kind=boom and kind=nothing are 500s on purpose
    # test steps that read a body they do not declare: without one their handler raises (a 500 by design)
    "/crash", "/fanout", "/fifo", "/limited", "/ping", "/retry", "/stream-jobs", "/stream-writes", "/txn/users",
    "/long", "/one-at-a-time", "/outage",
    "/core/atomic", "/core/match", "/core/multi", "/core/timeout",
    "/core/unawaited",  # drops an awaitable on purpose: a 500 that says so
)

#: A URLconf (``ROOT_URLCONF=__name__``) serving the step routes below ``api/``.
urlpatterns = [
    path("admin/motia/", include("motia_django.workbench.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("motia_django.urls")),
]


def _pointer(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def assert_valid(document: dict[str, Any]) -> None:
    """Valid OpenAPI 3.1, and every ``$ref`` resolves (the validator does not follow schema refs)."""
    validate(document, cls=OpenAPIV31SpecValidator)
    text = json.dumps(document)
    for ref in set(re.findall(r'"\$ref": "([^"]+)"', text)):
        assert ref.startswith("#/"), ref
        _pointer(document, ref)


def _doc() -> dict[str, Any]:
    return openapi_document(get_registry(), base_url="http://testserver")


def _body_schema(operation: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    return _pointer(document, schema["$ref"]) if "$ref" in schema else schema


# -- the document ------------------------------------------------------------------------------


def test_document_of_the_real_registry_is_valid_openapi_3_1() -> None:
    document = _doc()
    assert document["openapi"] == "3.1.0" and document["servers"] == [{"url": "http://testserver"}]
    assert_valid(document)
    operations = {(m.upper(), p) for p, item in document["paths"].items() for m in item}
    assert len(operations) == len(get_registry().routes)
    assert {("GET", "/hello/{name}"), ("POST", "/orders"), ("GET", "/orders/{id}"), ("POST", "/todos"),
            ("GET", "/todos")} <= operations


def test_json_schema_body_becomes_the_request_body() -> None:
    document = _doc()
    post = document["paths"]["/todos"]["post"]
    assert post["operationId"] == "create-todo" and post["tags"] == ["todos"]
    assert post["requestBody"]["required"] is True
    schema = _body_schema(post, document)
    assert schema["required"] == ["title"]
    assert schema["properties"]["title"] == {"type": "string", "minLength": 1, "pattern": "^[^\\x00-\\x1f]+$"}
    assert "requestBody" not in document["paths"]["/todos"]["get"]


def test_path_parameters_are_required_strings() -> None:
    document = _doc()
    get = document["paths"]["/orders/{id}"]["get"]
    assert get["parameters"] == [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    hello = document["paths"]["/hello/{name}"]["get"]  # declared as /hello/:name
    assert hello["parameters"][0]["name"] == "name" and hello["summary"] == "Return a greeting"


def test_pydantic_body_is_a_named_component() -> None:
    document = _doc()
    post = document["paths"]["/orders"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/OrderIn"}
    model = document["components"]["schemas"]["OrderIn"]
    assert set(model["required"]) == {"item", "quantity"}
    assert model["properties"]["quantity"]["exclusiveMinimum"] == 0
    assert post["summary"] == "Accept an order and enqueue it for processing" and post["tags"] == ["orders"]


def test_response_schemas_and_runtime_errors() -> None:
    document = _doc()
    responses = document["paths"]["/responses/{kind}"]["get"]["responses"]
    ok = responses["200"]["content"]["application/json"]["schema"]
    assert ok["type"] == ["object", "array", "string"] and ok["properties"]["count"] == {"type": "integer"}
    error = {"$ref": "#/components/schemas/Error"}
    assert responses["400"]["content"]["application/json"]["schema"] == error
    assert responses["500"]["content"]["application/json"]["schema"] == error
    assert "default" not in responses  # a 2xx is declared
    assert document["components"]["schemas"]["Error"]["required"] == ["error"]
    assert "traceId" in document["components"]["schemas"]["Error"]["properties"]
    undeclared = document["paths"]["/hello/{name}"]["get"]["responses"]
    assert "default" in undeclared and "404" not in undeclared


def test_guards_are_described() -> None:
    protected = _doc()["paths"]["/protected"]["get"]
    assert "422" in protected["responses"]  # the condition's status
    assert "condition" in protected["description"] and "middleware" in protected["description"]


def test_a_step_with_several_routes_gets_one_operation_id_per_method() -> None:
    item = _doc()["paths"]["/echo/{a}/{b}"]
    assert {m: op["operationId"] for m, op in item.items()} == {"post": "echo_post", "get": "echo_get",
                                                                 "put": "echo_put"}
    state = _doc()["paths"]["/state/{scope}/{key}"]
    assert set(state) == {"put", "delete"}


class Tag(BaseModel):
    name: str


class Node(BaseModel):
    value: int
    children: list[Node] = []
    tag: Tag | None = None


class Basket(BaseModel):
    tags: list[Tag]


def _handler(req: Any, ctx: Any) -> None:
    return None


def test_local_definitions_are_hoisted_and_refs_rewritten() -> None:
    recursive = {"type": "object", "$id": "urn:tree",
                 "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}, "t": {"$ref": "#/$defs/Tag"}},
                 "$defs": {"Tag": {"type": "integer"}}}
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"Tag": {"type": "string"}},
              "type": "object", "properties": {"t": {"$ref": "#/definitions/Tag"}}}
    registry = Registry([
        StepDefinition({"name": "a", "flows": ["f"], "triggers": [
            http("POST", "/a/:x", body_schema=Node, response_schema={200: Basket, 201: Node}),
            http("PUT", "/a/{y}", body_schema=recursive),
            http("PUT", "/b/:x", query_params=["q", {"name": "r", "description": "the r"}]),
        ]}, _handler),
        StepDefinition({"name": "b", "triggers": [http("POST", "/b", body_schema=draft7,
                                                        response_schema={200: Basket})]}, _handler),
    ])
    assert not registry.errors
    document = openapi_document(registry)
    assert_valid(document)
    schemas = document["components"]["schemas"]
    # the same model reached from several places is stored once
    assert schemas["Tag"]["properties"]["name"]["type"] == "string" and schemas["Basket"]["title"] == "Basket"
    assert schemas["Node"]["properties"]["children"]["items"] == {"$ref": "#/components/schemas/Node"}
    # other schemas with a definition called Tag get their own names
    assert schemas["Tag_2"] == {"type": "integer"} and schemas["Tag_3"] == {"type": "string"}
    tree = document["paths"]["/a/{x}"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert tree == {"$ref": "#/components/schemas/a_put_1_body"}
    assert schemas["a_put_1_body"]["properties"]["kids"]["items"] == tree and "$id" not in schemas["a_put_1_body"]
    inline = document["paths"]["/b"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert inline["properties"]["t"] == {"$ref": "#/components/schemas/Tag_3"} and "definitions" not in inline
    ops = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    assert ops == {"a_post", "a_put_1", "a_put_2", "b"}
    query = document["paths"]["/b/{x}"]["put"]["parameters"][1:]
    assert query == [
        {"name": "q", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "r", "in": "query", "required": False, "schema": {"type": "string"}, "description": "the r"},
    ]
    assert document["tags"] == [{"name": "f"}]


def test_routes_of_one_shape_share_a_path_item() -> None:
    registry = Registry([
        StepDefinition({"name": "read", "triggers": [http("GET", "/things/:id")]}, _handler),
        StepDefinition({"name": "write", "triggers": [http("PUT", "/things/{thingId}")]}, _handler),
    ])
    document = openapi_document(registry)
    assert_valid(document)
    assert list(document["paths"]) == ["/things/{id}"]
    assert document["paths"]["/things/{id}"]["put"]["parameters"][0]["name"] == "id"


# -- the pages ---------------------------------------------------------------------------------


def test_pages_are_staff_only(client: Client) -> None:
    User.objects.create_user("plain", password="pw")
    for url in ("/admin/motia/endpoints/", "/admin/motia/endpoints/try/", "/admin/motia/openapi.json"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    client.login(username="plain", password="pw")
    for url in ("/admin/motia/endpoints/", "/admin/motia/endpoints/try/", "/admin/motia/openapi.json"):
        assert client.get(url).status_code == 302, url


def test_openapi_public_opens_the_document_only(client: Client) -> None:
    with override_settings(MOTIA={**settings.MOTIA, "OPENAPI_PUBLIC": True}):
        response = client.get("/admin/motia/openapi.json")
        assert response.status_code == 200 and response.json()["openapi"] == "3.1.0"
        assert client.get("/admin/motia/endpoints/").status_code == 302


def test_served_document_is_valid_and_points_at_the_routes(admin_client: Client) -> None:
    response = admin_client.get("/admin/motia/openapi.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    document = response.json()
    assert_valid(document)
    assert document["servers"] == [{"url": "http://testserver"}]


def test_servers_url_follows_where_the_routes_are_included(admin_client: Client) -> None:
    with override_settings(ROOT_URLCONF=__name__):
        assert admin_client.get("/admin/motia/openapi.json").json()["servers"] == [{"url": "http://testserver/api"}]
        assert admin_client.get("/api/hello/there").json() == {"message": "Hello, there!"}


def test_endpoints_page_lists_every_route(admin_client: Client) -> None:
    page = admin_client.get("/admin/motia/endpoints/").content.decode()
    for binding in get_registry().routes:
        assert f'data-method="{binding.trigger.method}" data-path="{binding.trigger.path}"' in page  # type: ignore[union-attr]

    def row(method: str, path: str) -> str:
        return page[page.index(f'data-method="{method}" data-path="{path}"'):].split("</tr>")[0]

    todos = row("POST", "/todos")
    assert "create-todo" in todos and "todos" in todos and "JSON Schema" in todos and "&quot;title&quot;" in todos
    assert "pydantic OrderIn" in row("POST", "/orders")
    responses = row("GET", "/responses/:kind")
    assert "200 · JSON Schema" in responses and "&quot;count&quot;" in responses
    guarded = row("GET", "/protected")
    assert 'class="guard-condition"' in guarded and "1 middleware" in guarded
    assert 'href="/admin/motia/openapi.json"' in page
    assert 'href="/admin/motia/endpoints/try/#/orders/CreateOrder"' in page  # Swagger UI's deep link


def test_workbench_links_the_endpoints(admin_client: Client) -> None:
    assert 'href="/admin/motia/endpoints/"' in admin_client.get("/admin/").content.decode()
    assert 'href="/admin/motia/endpoints/"' in admin_client.get("/admin/motia/").content.decode()


def test_try_it_page_uses_the_local_swagger_ui(admin_client: Client) -> None:
    page = admin_client.get("/admin/motia/endpoints/try/").content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert not [u for u in urls if u.startswith(("http:", "https:", "//"))], "nothing may load from another host"
    for asset in SWAGGER_ASSETS:
        url = settings.STATIC_URL + asset
        assert url in urls
        assert finders.find(asset), asset
        with override_settings(DEBUG=True):  # as runserver serves static files
            response = serve(RequestFactory().get(url), asset)
            assert response.status_code == 200
            assert len(b"".join(response.streaming_content)) > 100_000  # type: ignore[attr-defined]
    assert '"/admin/motia/openapi.json"' in page and "SwaggerUIBundle(" in page
    assert finders.find("motia_django/swagger-ui/LICENSE")


# -- fuzzing the live app ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.services
def test_fuzzing_from_the_document_finds_no_server_error(live_asgi: str, broker_url: str, tmp_path: Path) -> None:
    """Schemathesis sends generated requests (valid and invalid) to every documented operation."""
    staff = User.objects.create_superuser("fuzz-admin", "fuzz@example.com", "pw")
    client = Client()
    client.force_login(staff)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    served = httpx.get(f"{live_asgi}/admin/motia/openapi.json", cookies={settings.SESSION_COOKIE_NAME: cookie})
    assert served.status_code == 200
    document = served.json()
    assert document["servers"] == [{"url": live_asgi}]
    schema_file = tmp_path / "openapi.json"
    schema_file.write_text(json.dumps(document))
    args = [sys.executable, "-m", "schemathesis.cli", "run", str(schema_file), "--url", live_asgi,
            "--checks", "not_a_server_error", "--phases", "examples,coverage,fuzzing", "--max-examples", "50",
            "--request-timeout", "10", "--no-color",
            "--seed", str(FUZZ_SEED),  # the same requests on every run: a failure can be reproduced
            # past /protected's middleware and condition, so its handler runs too
            "--header", "Authorization: Bearer fuzz", "--header", "X-Verified: true"]
    for excluded in NOT_FUZZED:
        args += ["--exclude-path", excluded]
    result = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Tested: " in result.stdout
