"""Django users and Django REST framework policies on HTTP steps (``tests/app_steps/drf/``).

Every outcome is checked for a sync handler (``/drf/sync/...``) and an async one
(``/drf/async/...``), through Django's test client (the sync view) and a live
uvicorn server (the async view).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import AsyncClient, Client, override_settings
from rest_framework.authtoken.models import Token

from motia import http
from motia_django.registry import get_registry
from motia_django.workbench.openapi import openapi_document
from tests.conftest import start_uvicorn

pytestmark = pytest.mark.django_db(transaction=True)  # async handlers read users and tokens in another thread

KINDS = ("sync", "async")


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


def _user(name: str, *, staff: bool = False) -> tuple[User, str]:
    user = User.objects.create_user(name, f"{name}@example.com", "pw", is_staff=staff)
    return user, Token.objects.create(user=user).key


def _assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["error"] and body["traceId"] == response["X-Trace-Id"]
    return body


# -- the caller on every step ------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_anonymous_caller_is_django_anonymous_user(client: Client, kind: str) -> None:
    body = client.get(f"/drf/{kind}/whoami").json()
    assert body == {"user": None, "authenticated": False, "user_class": "AnonymousUser", "auth": None,
                    "auth_class": None, "kind": kind, "same": True}


@pytest.mark.parametrize("kind", KINDS)
def test_session_user_from_django_middleware(client: Client, kind: str) -> None:
    user, _ = _user(f"ses-{kind}")
    client.force_login(user)
    body = client.get(f"/drf/{kind}/whoami").json()
    assert body["user"] == f"ses-{kind}" and body["user_class"] == "User" and body["auth"] is None


async def test_session_user_on_the_async_view() -> None:
    user, _ = await _auser("ses-asgi")
    client = AsyncClient()
    await client.aforce_login(user)
    for kind in KINDS:
        response = await client.get(f"/drf/{kind}/whoami")
        assert response.json()["user"] == "ses-asgi", kind


async def _auser(name: str) -> tuple[User, str]:
    from asgiref.sync import sync_to_async

    return await sync_to_async(_user)(name)


def test_legacy_request_dict_carries_user_and_auth(client: Client) -> None:
    _, key = _user("legacy")
    assert client.get("/drf/legacy/whoami").json() == {"user": None, "auth": None}
    response = client.get("/drf/legacy/whoami", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.json() == {"user": "legacy", "auth": key}


# -- CSRF for session cookies ------------------------------------------------------------------


def _csrf_client() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.get("/admin/login/")  # sets the csrftoken cookie
    return client, client.cookies["csrftoken"].value


def _post(client: Client, path: str, **headers: str) -> Any:
    return client.post(path, content_type="application/json",
                       headers={name.replace("_", "-"): value for name, value in headers.items()})


@pytest.mark.parametrize("kind", KINDS)
def test_session_post_needs_the_csrf_token(kind: str) -> None:
    client, token = _csrf_client()
    assert _post(client, f"/drf/{kind}/whoami").json()["user"] is None  # anonymous: no CSRF check
    user, _ = _user(f"csrf-{kind}")
    client.force_login(user)
    body = _assert_error(_post(client, f"/drf/{kind}/whoami"), 403, "permission_denied")
    assert body["error"].startswith("CSRF Failed: CSRF token missing")
    _assert_error(_post(client, f"/drf/{kind}/whoami", X_CSRFToken="x" * 32), 403, "permission_denied")
    response = _post(client, f"/drf/{kind}/whoami", X_CSRFToken=token)
    assert response.status_code == 200 and response.json()["user"] == f"csrf-{kind}"


@pytest.mark.parametrize("kind", KINDS)
def test_drf_session_authentication_enforces_csrf(kind: str) -> None:
    client, token = _csrf_client()
    _assert_error(_post(client, f"/drf/{kind}/session"), 403, "not_authenticated")
    user, _ = _user(f"drfses-{kind}")
    client.force_login(user)
    body = _assert_error(_post(client, f"/drf/{kind}/session"), 403, "permission_denied")
    assert "CSRF" in body["error"]
    response = _post(client, f"/drf/{kind}/session", X_CSRFToken=token)
    assert response.status_code == 200 and response.json()["user"] == f"drfses-{kind}"


# -- DRF policies ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_token_authentication_and_is_authenticated(client: Client, kind: str) -> None:
    _, key = _user(f"tok-{kind}")
    missing = client.get(f"/drf/{kind}/token")
    _assert_error(missing, 401, "not_authenticated")
    assert missing["WWW-Authenticate"] == "Token"
    wrong = client.get(f"/drf/{kind}/token", HTTP_AUTHORIZATION="Token nope")
    assert _assert_error(wrong, 401, "authentication_failed")["error"] == "Invalid token."
    body = client.get(f"/drf/{kind}/token", HTTP_AUTHORIZATION=f"Token {key}").json()
    assert body == {"user": f"tok-{kind}", "authenticated": True, "user_class": "User", "auth": key,
                    "auth_class": "Token", "kind": kind, "same": True}


@pytest.mark.parametrize("kind", KINDS)
def test_permission_denied_is_403(client: Client, kind: str) -> None:
    _, plain = _user(f"plain-{kind}")
    _, staff = _user(f"staff-{kind}", staff=True)
    _assert_error(client.get(f"/drf/{kind}/admin", HTTP_AUTHORIZATION=f"Token {plain}"), 403, "permission_denied")
    response = client.get(f"/drf/{kind}/admin", HTTP_AUTHORIZATION=f"Token {staff}")
    assert response.status_code == 200 and response.json()["user"] == f"staff-{kind}"


@pytest.mark.parametrize("kind", KINDS)
def test_throttle_answers_429_with_retry_after(client: Client, kind: str) -> None:
    assert [client.get(f"/drf/{kind}/throttled").status_code for _ in range(2)] == [200, 200]
    throttled = client.get(f"/drf/{kind}/throttled")
    _assert_error(throttled, 429, "throttled")
    assert 0 < int(throttled["Retry-After"]) <= 60


def test_project_defaults_apply_only_when_asked(client: Client) -> None:
    rest_framework = {"DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
                      "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"]}
    with override_settings(REST_FRAMEWORK=rest_framework):
        assert client.get("/drf/sync/whoami").status_code == 200  # steps stay open by default
        from django.conf import settings

        with override_settings(MOTIA={**settings.MOTIA, "HTTP_DRF_DEFAULTS": True}):
            _assert_error(client.get("/drf/sync/whoami"), 401, "not_authenticated")
            _assert_error(client.get("/drf/async/whoami"), 401, "not_authenticated")
            _, key = _user("defaults")
            assert client.get("/drf/sync/whoami", HTTP_AUTHORIZATION=f"Token {key}").json()["auth"] == key
    assert client.get("/drf/sync/whoami").status_code == 200


def test_policy_classes_must_be_a_list_of_classes_or_dotted_paths() -> None:
    from rest_framework.permissions import IsAuthenticated

    with pytest.raises(ValueError, match="must be a list of classes or dotted paths"):
        http("GET", "/drf/bad", permission_classes=IsAuthenticated)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="neither a class nor a dotted path"):
        http("GET", "/drf/bad", throttle_classes=["nodots"])


# -- serializers -------------------------------------------------------------------------------


def test_serializer_body_is_validated_and_handler_gets_validated_data(client: Client) -> None:
    bad = client.post("/drf/signup", {"email": "nope", "age": 12, "tags": ["x" * 30]}, content_type="application/json")
    assert bad.status_code == 400
    errors = {e["path"]: e["message"] for e in bad.json()["errors"]}
    assert set(errors) == {"email", "age", "tags.0"}
    assert errors["age"] == "Ensure this value is greater than or equal to 18."
    good = client.post("/drf/signup", {"email": "a@example.com", "age": "21"}, content_type="application/json")
    assert good.status_code == 201
    assert good.json() == {"email": "a@example.com", "age": 21, "newsletter": False, "age_type": "int"}


def test_serializer_and_security_in_the_openapi_document() -> None:
    document = openapi_document(get_registry(), base_url="http://testserver")
    signup = document["paths"]["/drf/signup"]["post"]
    ref = signup["requestBody"]["content"]["application/json"]["schema"]
    assert ref == {"$ref": "#/components/schemas/DrfSignupSerializer"}
    assert signup["responses"]["201"]["content"]["application/json"]["schema"] == ref
    schema = document["components"]["schemas"]["DrfSignupSerializer"]
    assert set(schema["properties"]) == {"email", "age", "tags", "newsletter"}
    assert sorted(schema["required"]) == ["age", "email"]
    assert schema["properties"]["age"]["minimum"] == 18 and schema["properties"]["email"]["format"] == "email"
    assert "security" not in signup and "security" not in document["paths"]["/drf/sync/whoami"]["get"]
    token = document["paths"]["/drf/sync/token"]["get"]
    assert token["security"] == [{"tokenAuth": []}]
    assert {"401", "403", "429"} <= set(token["responses"])
    assert document["paths"]["/drf/async/session"]["post"]["security"] == [{"sessionAuth": []}]
    assert document["paths"]["/drf/sync/throttled"]["get"].get("security") is None
    schemes = document["components"]["securitySchemes"]
    assert schemes["tokenAuth"] == {"type": "apiKey", "in": "header", "name": "Authorization",
                                    "description": "`Token <key>`"}
    assert schemes["sessionAuth"]["in"] == "cookie" and schemes["sessionAuth"]["name"] == "sessionid"


# -- a live ASGI server ------------------------------------------------------------------------


def test_live_server_session_csrf_token_and_throttle(tmp_path: Path) -> None:
    User.objects.create_superuser("live-admin", "live@example.com", "pw")
    _, key = _user("live-token")
    proc, base = start_uvicorn(tmp_path / "uvicorn.log")
    try:
        with httpx.Client(base_url=base, timeout=10) as session:
            session.get("/admin/login/")
            csrf = session.cookies["csrftoken"]
            login = session.post("/admin/login/?next=/admin/", data={"username": "live-admin", "password": "pw",
                                                                     "csrfmiddlewaretoken": csrf})
            assert login.status_code == 302 and "sessionid" in session.cookies
            csrf = session.cookies["csrftoken"]  # rotated at login
            for kind in KINDS:
                refused = session.post(f"/drf/{kind}/whoami")
                assert refused.status_code == 403 and refused.json()["error"].startswith("CSRF Failed"), kind
                accepted = session.post(f"/drf/{kind}/whoami", headers={"X-CSRFToken": csrf})
                assert accepted.status_code == 200 and accepted.json()["user"] == "live-admin", kind
            # a form a cross-site page could submit, to a route that takes any content type
            upload = {"report": ("r.csv", b"a,b\n1,2\n", "text/csv")}
            forged = session.put("/echo/a/b", files=upload)
            assert forged.status_code == 403 and forged.json()["error"].startswith("CSRF Failed")
            sent = session.put("/echo/a/b", headers={"X-CSRFToken": csrf}, files=upload)
            assert sent.status_code == 200 and "a,b\n1,2" in sent.json()["body"]
        with httpx.Client(base_url=base, timeout=10) as api:
            for kind in KINDS:
                missing = api.get(f"/drf/{kind}/token")
                assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Token"
                ok = api.get(f"/drf/{kind}/token", headers={"Authorization": f"Token {key}"})
                assert ok.status_code == 200 and ok.json()["auth"] == key and ok.json()["kind"] == kind
                # a header-token POST carries no session: no CSRF token needed
                assert api.post(f"/drf/{kind}/whoami").status_code == 200
            statuses = [api.get("/drf/async/throttled") for _ in range(3)]
            assert [r.status_code for r in statuses] == [200, 200, 429]
            assert 0 < int(statuses[2].headers["Retry-After"]) <= 60
    finally:
        proc.stop()
