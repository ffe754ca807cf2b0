"""The workbench in a real browser: Debian's Chromium driven by Playwright against a live server.

Screenshots of each page are written to the test's temporary directory, or to
``docs/screenshots/`` for the README when ``MOTIA_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import IN_CI, ROOT, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.services]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = ROOT / "docs" / "screenshots"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FLOW = ("CreateOrder", "ProcessOrder", "CompleteOrder")


@pytest.fixture
def browser_page() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail("Chromium is not installed, and CI must run the page tests")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright  # a test requirement: never skipped

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield page
        browser.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the screenshots go: ``docs/screenshots`` only when asked to update them."""
    directory = SCREENSHOTS if os.environ.get("MOTIA_UPDATE_SCREENSHOTS") == "1" else tmp_path / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _shot(page: Any, directory: Path, name: str) -> None:
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert len(data) > len(PNG_SIGNATURE) and data.startswith(PNG_SIGNATURE), f"{path} is not a PNG"


def _order_completed(base: str, order_id: str) -> bool:
    try:
        response = httpx.get(f"{base}/orders/{order_id}", timeout=5)
    except httpx.HTTPError:  # a slow or busy server: ask again
        return False
    return response.status_code == 200 and response.json().get("status") == "completed"


@pytest.fixture
def superuser(transactional_db: None, django_user_model: Any) -> None:
    """Created before the browser starts: Django refuses database calls while its event loop runs."""
    django_user_model.objects.create_superuser("admin", "admin@example.com", "secret-pass")


def test_workbench_pages(live_asgi: str, start_worker: Any, superuser: None, browser_page: Any,
                         screenshots: Path) -> None:
    start_worker()
    order = httpx.post(f"{live_asgi}/orders", json={"item": "gadget", "quantity": 3}, timeout=30)
    trace_id = order.headers["x-trace-id"]
    order_id = order.json()["id"]
    wait_until(lambda: _order_completed(live_asgi, order_id), 60, interval=0.3, what="the order flow")
    httpx.get(f"{live_asgi}/responses/boom", timeout=30)

    page = browser_page
    page.goto(f"{live_asgi}/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "secret-pass")
    page.click("input[type=submit]")
    page.wait_for_selector("#motia-workbench")
    _shot(page, screenshots, "admin-index")

    # flows: the order flow's steps and topics, with edges between them
    page.click("#motia-workbench >> text=Flows")
    page.wait_for_selector("svg")
    for step in FLOW:
        assert page.locator(f'[data-node="step:{step}"]').count() >= 1, step
    assert page.locator('[data-node="topic:order.created"]').count() >= 1
    assert page.locator('[data-edge="step:CreateOrder->topic:order.created"]').count() >= 1
    assert page.locator('[data-edge="topic:order.created->step:ProcessOrder"]').count() >= 1
    _shot(page, screenshots, "flows")

    # traces: follow the order's trace from the HTTP step to the last queue step
    page.goto(f"{live_asgi}/admin/motia/traces/")
    page.wait_for_selector("#traces")
    _shot(page, screenshots, "traces")
    page.click(f'a[href="/admin/motia/traces/{trace_id}/"]')
    page.wait_for_selector("#waterfall")
    steps = page.locator("#waterfall .execution").evaluate_all("els => els.map(e => e.dataset.step)")
    assert [s for s in steps if s in FLOW] == list(FLOW)
    assert page.locator('#waterfall .execution[data-step="CompleteOrder"] .logs').inner_text().count(
        "Order completed") == 1
    _shot(page, screenshots, "trace")

    # endpoints and the interactive OpenAPI view
    page.goto(f"{live_asgi}/admin/motia/endpoints/")
    assert "/orders" in page.inner_text("#content")
    _shot(page, screenshots, "endpoints")
    page.goto(f"{live_asgi}/admin/motia/endpoints/try/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20000)
    assert page.locator(".swagger-ui .opblock").count() >= 5
    _shot(page, screenshots, "openapi")

    page.goto(f"{live_asgi}/admin/motia/queues/")
    page.wait_for_selector("#queues")
    assert page.locator('tr[data-queue="motia.order.created"]').count() >= 1
    _shot(page, screenshots, "queues")
