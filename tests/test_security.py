"""Secure defaults: stream access and origins, stream declarations, request bodies, trace ids, the example
project's settings, value caps and the checks that warn about unsafe production settings (docs/security.md).

Servers are real uvicorn processes and WebSocket clients real ``websockets`` clients; a server started with
``production()`` runs with ``DEBUG`` off, as a deployment does.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from motia_django.checks import security_check
from motia_django.models import StateEntry, StreamItem
from motia_django.registry import Registry, reload_registry
from motia_django.state.manager import StateManager
from motia_django.store import ValueTooLarge
from motia_django.streams.stream import Stream, declared_streams
from motia_django.tracing.ids import trace_id_from_headers

from .conftest import ROOT, Process, start_uvicorn
from .test_streams import Client as StreamClient
from .test_streams import ws_url

#: A deployment's environment: DEBUG off, its own secret and hosts (plain HTTP here, so no HTTPS redirect).
PRODUCTION = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
              "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "DJANGO_SECURE_SSL_REDIRECT": "0"}
NO_HOOK = {"MOTIA_TEST_STREAM_AUTHENTICATE": ""}


@pytest.fixture
def serve(transactional_db: None, tmp_path: Path) -> Iterator[Any]:
    """Start uvicorn servers with extra environment; stopped at the end of the test."""
    started: list[Process] = []

    def start(**env: str) -> str:
        proc, base = start_uvicorn(tmp_path / f"uvicorn-{len(started)}.log", **env)
        started.append(proc)
        return base

    yield start
    for proc in started:
        proc.stop()


def sync_or_refusal(base: str, stream: str, origin: str | None = None, cookie: str | None = None) -> str:
    """What a join to ``stream`` gets: ``sync`` or ``unauthorized``."""
    headers = {"Cookie": cookie} if cookie else None
    with connect(ws_url(base), origin=Origin(origin) if origin else None, additional_headers=headers, proxy=None,
                 open_timeout=10) as ws:
        ws.send(json.dumps({"type": "join", "data": {"streamName": stream, "groupId": "g1", "subscriptionId": "s"}}))
        frame = json.loads(ws.recv(timeout=10))
        assert frame["type"] == "stream", frame
        return str(frame["event"]["type"])


# -- 1. streams without can_access ----------------------------------------------------------------


def test_streams_without_can_access_are_closed_in_production_unless_opened(serve: Any) -> None:
    production = serve(**PRODUCTION, **NO_HOOK)
    assert sync_or_refusal(production, "secure-plain") == "unauthorized"
    opened = serve(**PRODUCTION, **NO_HOOK, MOTIA_TEST_STREAM_DEFAULT_ACCESS="1")
    assert sync_or_refusal(opened, "secure-plain") == "sync"
    development = serve(**NO_HOOK)  # DEBUG on, no hook: open, as before
    assert sync_or_refusal(development, "secure-plain") == "sync"


# -- 2. origins and the session -------------------------------------------------------------------


def test_cross_origin_websockets_are_refused(serve: Any) -> None:
    base = serve(**PRODUCTION, **NO_HOOK, MOTIA_TEST_STREAM_DEFAULT_ACCESS="1")
    with pytest.raises(InvalidStatus) as refused:
        sync_or_refusal(base, "secure-plain", origin="http://evil.example")
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        sync_or_refusal(base, "secure-plain", origin="http://localhost.evil.example")
    site = base.replace("http://127.0.0.1", "http://localhost")
    assert sync_or_refusal(base, "secure-plain", origin=site) == "sync"  # a page of the site itself
    assert sync_or_refusal(base, "secure-plain") == "sync"  # no Origin: not a browser (the Node client)


def test_can_access_sees_the_session_user(serve: Any) -> None:
    User.objects.create_user("staffer", password="pw", is_staff=True)
    User.objects.create_user("visitor", password="pw")
    # the key that signs this process's sessions: a session is bound to it
    base = serve(**{**PRODUCTION, "DJANGO_SECRET_KEY": django_settings.SECRET_KEY}, **NO_HOOK)

    def session_cookie(username: str) -> str:
        browser = Client()
        assert browser.login(username=username, password="pw")
        return f"sessionid={browser.cookies['sessionid'].value}"

    site = base.replace("http://127.0.0.1", "http://localhost")
    assert sync_or_refusal(base, "secure-staff", site, session_cookie("staffer")) == "sync"
    assert sync_or_refusal(base, "secure-staff", site, session_cookie("visitor")) == "unauthorized"
    assert sync_or_refusal(base, "secure-staff", site) == "unauthorized"
    assert sync_or_refusal(base, "secure-staff", site, "sessionid=forged") == "unauthorized"


# -- 3. stream declarations -----------------------------------------------------------------------


def test_a_stream_redeclared_differently_is_a_discovery_error(tmp_path: Path) -> None:
    name = f"secure-redeclared-{uuid.uuid4().hex[:8]}"
    (tmp_path / "guarded_stream.py").write_text(
        "from motia import StreamConfig\n\n"
        "def members(subscription, auth_context):\n    return auth_context is not None\n\n"
        f"config = StreamConfig(name={name!r}, can_access=members)\n")
    (tmp_path / "reopen_step.py").write_text(
        "from motia import Stream, http, step\n\n"
        f"items = Stream({name!r}, schema={{'type': 'object'}})\n\n"
        "default = step({'name': 'secure-reopen', 'triggers': [http('GET', '/secure-reopen')]}, lambda i, c: None)\n")
    (tmp_path / "refer_step.py").write_text(  # a bare Stream(name) only refers to the declaration
        "from motia import Stream, http, step\n\n"
        f"items = Stream({name!r})\n\n"
        "default = step({'name': 'secure-refer', 'triggers': [http('GET', '/secure-refer')]}, lambda i, c: None)\n")
    registry = Registry.discover([tmp_path])
    errors = {Path(e.file).name: e for e in registry.errors}
    assert set(errors) == {"reopen_step.py"}, errors
    assert errors["reopen_step.py"].line == 3
    assert f"stream {name!r} is already declared with another schema" in errors["reopen_step.py"].message
    assert declared_streams()[name].can_access.__name__ == "members"  # still guarded
    again = Registry.discover([tmp_path])  # the same files again (a reload) declare the same streams: fine
    assert [Path(e.file).name for e in again.errors] == ["reopen_step.py"]


def test_a_step_file_cannot_reopen_a_stream_declared_in_settings(settings: Any, tmp_path: Path) -> None:
    (tmp_path / "announce_step.py").write_text(
        "from motia import Stream\n\nannouncements = Stream('announcements', schema={'type': 'object'})\n")
    settings.MOTIA = {**settings.MOTIA, "STEPS_DIRS": [*settings.MOTIA["STEPS_DIRS"], str(tmp_path)]}
    try:
        errors = [e for e in reload_registry().errors if e.file.endswith("announce_step.py")]
        assert len(errors) == 1 and "'announcements' is already declared" in errors[0].message
        assert declared_streams()["announcements"].can_access.__name__ == "signed_in"
    finally:
        del settings.MOTIA
        reload_registry()


# -- 4. request bodies ----------------------------------------------------------------------------


def test_bodies_that_are_not_declared_json_are_refused(live_asgi: str) -> None:
    blob = httpx.post(f"{live_asgi}/echo/a/b", content=b'{"transfer": 100}')  # fetch(no-cors, body: blob)
    assert blob.status_code == 415
    assert blob.json() == {"error": "Unsupported content type '(none)'", "accepted": ["application/json"],
                           "traceId": blob.headers["X-Trace-Id"]}
    form = httpx.post(f"{live_asgi}/echo/a/b", content=b'{"a": 1}', headers={"Content-Type": "text/plain"})
    assert form.status_code == 415 and form.json()["error"] == "Unsupported content type 'text/plain'"
    assert httpx.post(f"{live_asgi}/echo/a/b", json={"a": 1}).json()["body"] == {"a": 1}
    problem = httpx.post(f"{live_asgi}/echo/a/b", content=b'{"a": 1}',
                         headers={"Content-Type": "application/problem+json"})
    assert problem.json()["body"] == {"a": 1}
    assert httpx.post(f"{live_asgi}/echo/a/b").json()["body"] is None  # no body at all
    # a route that declares other types takes them, raw
    raw = httpx.put(f"{live_asgi}/echo/a/b", content=b"<xml/>", headers={"Content-Type": "application/xml"})
    assert raw.status_code == 200 and raw.json()["body"] == "<xml/>"


def test_content_types_are_checked_when_declared() -> None:
    from motia import http

    assert http("POST", "/x", content_types=["Text/CSV", "image/*"]).content_types == ["text/csv", "image/*"]
    with pytest.raises(ValueError, match="'json' is not a media type"):
        http("POST", "/x", content_types=["json"])
    with pytest.raises(ValueError, match="at least one media type"):
        http("POST", "/x", content_types=[])


# -- 5. trace ids ---------------------------------------------------------------------------------


def test_clients_cannot_choose_their_trace_id(live_asgi: str) -> None:
    victim = "0192f0c1-aaaa-7bbb-8ccc-dddddddddddd"
    chosen = httpx.get(f"{live_asgi}/echo/a/b", headers={"X-Trace-Id": victim})
    assert chosen.json()["trace_id"] != victim and chosen.headers["X-Trace-Id"] == chosen.json()["trace_id"]
    parent = f"00-{'ab' * 16}-{'cd' * 8}-01"
    assert httpx.get(f"{live_asgi}/echo/a/b", headers={"traceparent": parent}).json()["trace_id"] == "ab" * 16
    broken = httpx.get(f"{live_asgi}/echo/a/b", headers={"traceparent": f"00-{victim}-01"}).json()["trace_id"]
    assert broken not in (victim, "")


def test_a_trusted_gateway_may_set_x_trace_id() -> None:
    assert trace_id_from_headers({"HTTP_X_TRACE_ID": "from-gateway"}, trust_trace_header=True) == "from-gateway"
    assert trace_id_from_headers({"HTTP_X_TRACE_ID": "from-gateway"}) != "from-gateway"


# -- 6. the example project's settings ------------------------------------------------------------


def manage(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``manage.py`` of the example project, with only the given environment."""
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "project.settings",
            "MOTIA_VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15"}
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env={**base, **env}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def test_the_example_project_passes_the_deployment_checks(tmp_path: Path) -> None:
    production = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                  "DJANGO_ALLOWED_HOSTS": "app.example.com", "CHANNEL_LAYER_URL": "redis://127.0.0.1:6379/15"}
    checked = manage(["check", "--deploy", "--fail-level", "WARNING"], tmp_path, **production)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "System check identified no issues" in checked.stdout


def test_the_example_project_is_not_in_debug_mode_unless_asked(tmp_path: Path) -> None:
    refused = manage(["check"], tmp_path)
    assert refused.returncode != 0 and "set DJANGO_SECRET_KEY (or DJANGO_DEBUG=1" in refused.stderr
    shown = manage(["shell", "-c", "from django.conf import settings; print(settings.DEBUG, settings.ALLOWED_HOSTS)"],
                   tmp_path, DJANGO_SECRET_KEY="x" * 50)
    assert shown.stdout.splitlines()[-1] == "False []", shown.stderr
    development = manage(["shell", "-c", "from django.conf import settings; print(settings.DEBUG)"], tmp_path,
                         DJANGO_DEBUG="1")
    assert development.stdout.splitlines()[-1] == "True", development.stderr


# -- 7. unknown paths -----------------------------------------------------------------------------


def test_a_post_to_an_unknown_path_gets_the_json_404(live_asgi: str) -> None:
    response = httpx.post(f"{live_asgi}/secure-no-such-route", json={"a": 1})
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found", "path": "/secure-no-such-route"}


# -- 8. caps --------------------------------------------------------------------------------------


def test_values_over_the_cap_are_refused_and_nothing_is_written(db: None, settings: Any) -> None:
    settings.MOTIA = {**settings.MOTIA, "MAX_VALUE_BYTES": 100}
    state = StateManager()
    with pytest.raises(ValueTooLarge, match="over the 100-byte limit"):
        state.set("secure-caps", "big", {"text": "x" * 200})
    assert not StateEntry.objects.filter(group="secure-caps").exists()
    state.set("secure-caps", "grows", {"text": "small"})
    with pytest.raises(ValueTooLarge):
        state.update("secure-caps", "grows", [{"type": "set", "path": "text", "value": "y" * 200}])
    assert state.get("secure-caps", "grows") == {"text": "small"}
    with pytest.raises(ValueTooLarge):
        Stream("secure-plain").set("g1", "big", {"text": "x" * 200})
    assert not StreamItem.objects.filter(stream="secure-plain").exists()


def test_a_join_to_a_group_over_the_sync_cap_is_told_to_subscribe_to_items(serve: Any) -> None:
    base = serve(**NO_HOOK, MOTIA_STREAM_SYNC_MAX_ITEMS="3")
    plain = Stream("secure-plain")
    for index in range(3):
        plain.set("small", f"i{index}", {"n": index})
        plain.set("big", f"i{index}", {"n": index})
    plain.set("big", "i3", {"n": 3})
    with StreamClient(ws_url(base)) as client:
        client.join("secure-plain", "small")
        assert len(client.event()["data"]) == 3
        client.join("secure-plain", "big")
        error = client.recv()
        assert error["type"] == "error" and error["error"]["code"] == "group_too_large", error
        client.join("secure-plain", "big", item="i3")  # its items still sync
        assert client.event() == {"type": "sync", "data": {"n": 3, "id": "i3"}}


# -- 9. system checks -----------------------------------------------------------------------------


def test_unsafe_production_settings_are_warned_about(settings: Any) -> None:
    settings.DEBUG = False
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.CELERY_ACCEPT_CONTENT = ["json", "pickle"]
    settings.MOTIA = {**settings.MOTIA, "STREAM_DEFAULT_ACCESS": True, "EXPOSE_ERRORS": True}
    ids = sorted(message.id for message in security_check())
    assert ids == ["motia.W020", "motia.W021", "motia.W022", "motia.W023"]
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer"}}
    settings.CELERY_ACCEPT_CONTENT = ["json"]
    settings.MOTIA = {**settings.MOTIA, "STREAM_DEFAULT_ACCESS": None, "EXPOSE_ERRORS": None}
    assert security_check() == []
    settings.DEBUG = True
    settings.MOTIA = {**settings.MOTIA, "STREAM_DEFAULT_ACCESS": True, "EXPOSE_ERRORS": True}
    assert security_check() == []  # a development server

