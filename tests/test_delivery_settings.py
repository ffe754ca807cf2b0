"""The settings delivery relies on: derived visibility, fail-fast publishing, and the checks that guard them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.checks import Warning as CheckWarning
from django.test import override_settings

from motia_django.checks import delivery_check
from motia_django.queues.app import celery_app
from motia_django.queues.broker import step_needs, tune, visibility_needed
from motia_django.queues.policy import hard_time_limit, policy_for
from motia_django.queues.publisher import build_envelope
from motia_django.registry import get_registry


@pytest.fixture
def conf() -> Iterator[Any]:
    """The Celery app's configuration, restored after the test."""
    app = celery_app()
    saved = {key: app.conf[key] for key in ("broker_transport_options", "worker_prefetch_multiplier", "broker_url")}
    yield app.conf
    for key, value in saved.items():
        app.conf[key] = value


def _ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages if isinstance(m, CheckWarning)]


def test_visibility_covers_the_longest_step_and_its_hard_limit() -> None:
    long = next(b for b in get_registry().background_bindings if b.step.name == "long-consumer")
    policy = policy_for(long)
    # the hard limit and a margin
    assert hard_time_limit(policy) == policy.timeout + 30 + 5
    assert step_needs(long) == hard_time_limit(policy) + 10
    assert visibility_needed() >= step_needs(long)


def test_tune_sets_what_the_project_left_unset(conf: Any) -> None:
    conf.broker_url = "redis://127.0.0.1:6379/9"
    conf.broker_transport_options = {"unacked_mutex_expire": 60}
    conf.worker_prefetch_multiplier = 4
    tune(celery_app())
    options = conf.broker_transport_options
    assert options["visibility_timeout"] == visibility_needed()
    assert options["unacked_mutex_expire"] == 60  # the project's own value stays
    assert options["max_retries"] == 0
    assert conf.worker_prefetch_multiplier == 1


def test_checks_warn_about_prefetch_and_a_visibility_too_short(conf: Any) -> None:
    conf.broker_url = "redis://127.0.0.1:6379/9"
    conf.worker_prefetch_multiplier = 1
    conf.broker_transport_options = {"visibility_timeout": visibility_needed()}
    assert _ids(delivery_check()) == []
    conf.worker_prefetch_multiplier = 4
    conf.broker_transport_options = {"visibility_timeout": 5}
    messages = delivery_check()
    assert "motia.W010" in _ids(messages)
    short = [m for m in messages if m.id == "motia.W011"]
    assert any("'long-consumer'" in m.msg for m in short)


def test_checks_warn_about_sqlite_in_deferred_mode(conf: Any) -> None:
    from django.db import connections

    options = connections["default"].settings_dict.setdefault("OPTIONS", {})
    saved = dict(options)
    engine = connections["default"].settings_dict["ENGINE"]
    try:
        connections["default"].settings_dict["ENGINE"] = "django.db.backends.sqlite3"
        options["transaction_mode"] = "IMMEDIATE"
        assert "motia.W012" not in _ids(delivery_check())
        options.pop("transaction_mode")
        assert "motia.W012" in _ids(delivery_check())
    finally:
        connections["default"].settings_dict["ENGINE"] = engine
        options.clear()
        options.update(saved)


def test_an_envelope_keeps_the_data_as_it_was_when_enqueued() -> None:
    data = {"items": [1, 2], "note": "first"}
    envelope = build_envelope("t.fanout", data, trace_id="trace")
    data["items"].append(3)
    data["note"] = "changed"
    assert envelope["data"] == {"items": [1, 2], "note": "first"}


def test_the_hard_limit_follows_the_patience_setting() -> None:
    long = next(b for b in get_registry().background_bindings if b.step.name == "long-consumer")
    with override_settings(MOTIA={"OUTAGE_PATIENCE": 1}):
        assert hard_time_limit(policy_for(long)) == policy_for(long).timeout + 1 + 5
