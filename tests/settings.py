"""Test settings: the example project plus the steps under ``tests/app_steps``.

``TEST_DATABASE_URL`` switches the database (PostgreSQL in CI's second pass).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

#: One id per test run, inherited by the servers and workers the tests start, so that
#: concurrent runs on one machine use separate broker keys and databases.
RUN_ID = os.environ.setdefault("MOTIA_TEST_RUN", uuid.uuid4().hex[:10])
os.environ.setdefault("MOTIA_VAR_DIR", tempfile.mkdtemp(prefix="motia-test-var-"))
if os.environ.get("TEST_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]

os.environ.setdefault("CELERY_BROKER_URL", os.environ.get("TEST_BROKER_URL", "redis://127.0.0.1:6379/9"))
#: The example project's development defaults (its own hosts, no HTTPS), for the servers the tests start;
#: ``tests/test_security.py`` starts some with ``DJANGO_DEBUG=0``.
os.environ.setdefault("DJANGO_DEBUG", "1")

from project.settings import *  # noqa: E402,F403
from project.settings import BASE_DIR, DATABASES, VAR_DIR  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # a file, so server and worker processes started by tests share it
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_motia_{RUN_ID}"}

#: Servers started with MOTIA_TEST_ATOMIC_REQUESTS=1 wrap every request in a transaction.
DATABASES["default"]["ATOMIC_REQUESTS"] = os.environ.get("MOTIA_TEST_ATOMIC_REQUESTS") == "1"

if CELERY_BROKER_URL.startswith("redis://"):  # noqa: F405
    CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"motia-test-{RUN_ID}:"}
    if os.environ.get("MOTIA_TEST_REDIS_VISIBILITY"):
        # an operator's own choice, shorter than the steps need: workers killed in tests come back fast
        CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = float(os.environ["MOTIA_TEST_REDIS_VISIBILITY"])

MOTIA = {
    "STEPS_DIRS": [str(BASE_DIR / "steps"), str(TESTS_DIR / "app_steps"),
                   str(TESTS_DIR / "modern_steps"),  # Motia 1.0.3+ step files (tests/test_compat_modern.py)
                   str(TESTS_DIR / "legacy_steps" / "steps")],  # Motia 0.x step files (tests/test_compat_legacy.py)
    "MIDDLEWARE": ["tests.app_steps.support.global_marker"],
    "STRICT_RESPONSE_SCHEMA": os.environ.get("MOTIA_STRICT_RESPONSE_SCHEMA", "0") == "1",
    "EXPOSE_ERRORS": False,
}
#: Step folders only the servers and workers of one test load (``os.pathsep``-separated), e.g. a cron
#: step that would change the schedules the other tests count.
MOTIA["STEPS_DIRS"] += [d for d in os.environ.get("MOTIA_TEST_EXTRA_STEPS", "").split(os.pathsep) if d]
MOTIA["VISIBILITY_TIMEOUT"] = 5
MOTIA["TRACING"] = os.environ.get("MOTIA_TRACING", "on") == "on"
MOTIA["RELAY_INTERVAL"] = 0.5
MOTIA["LOG_FORMAT"] = os.environ.get("MOTIA_LOG_FORMAT", "plain")
MOTIA["OUTAGE_PATIENCE"] = float(os.environ.get("MOTIA_OUTAGE_PATIENCE", "30"))
MOTIA["UNKNOWN_STEP_GRACE"] = float(os.environ.get("MOTIA_UNKNOWN_STEP_GRACE", "600"))
MOTIA["HTTP_STREAM_BUFFER"] = int(os.environ.get("MOTIA_HTTP_STREAM_BUFFER", "16"))
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# -- Django REST framework on HTTP steps (tests/test_drf_policies.py) ----------------------
#: The ``drf-`` steps authenticate with DRF's tokens.
INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework.authtoken"]  # noqa: F405

# -- streams (tests/test_streams*.py) -------------------------------------------------------
MOTIA["STREAMS"] = {"announcements": {"can_access": "tests.app_steps.streams.support.signed_in"}}
#: ``MOTIA_TEST_STREAM_AUTHENTICATE=""`` serves without a hook: the session's user is the auth context.
MOTIA["STREAM_AUTHENTICATE"] = os.environ.get("MOTIA_TEST_STREAM_AUTHENTICATE",
                                              "tests.app_steps.streams.support.authenticate") or None
if os.environ.get("MOTIA_TEST_STREAM_DEFAULT_ACCESS"):
    MOTIA["STREAM_DEFAULT_ACCESS"] = os.environ["MOTIA_TEST_STREAM_DEFAULT_ACCESS"] == "1"
MOTIA["STREAM_SYNC_MAX_ITEMS"] = int(os.environ.get("MOTIA_STREAM_SYNC_MAX_ITEMS", "1000"))
MOTIA["STREAM_MAX_SUBSCRIPTIONS"] = int(os.environ.get("MOTIA_STREAM_MAX_SUBSCRIPTIONS", "100"))
MOTIA["STREAM_CLIENT_BUFFER"] = int(os.environ.get("MOTIA_STREAM_CLIENT_BUFFER", "1000"))
MOTIA["STREAM_RESYNC_INTERVAL"] = float(os.environ.get("MOTIA_STREAM_RESYNC_INTERVAL", "30"))

# -- a second project served beside the test app (tests/test_compat_http.py) ---------------
#: Its ``steps/`` join the test app's and its ``.env`` is the one loaded at start-up.
if os.environ.get("MOTIA_TEST_PROJECT_DIR"):
    _PROJECT_DIR = Path(os.environ["MOTIA_TEST_PROJECT_DIR"])
    MOTIA["STEPS_DIRS"] = [*MOTIA["STEPS_DIRS"], str(_PROJECT_DIR / "steps")]
    MOTIA["ENV_FILE"] = str(_PROJECT_DIR / ".env")

# -- integrations (tests/test_celery_tooling.py) -------------------------------------------
#: Servers and workers started with MOTIA_TEST_OBSERVER=<file> append what signals and spans tell integrations.
if os.environ.get("MOTIA_TEST_OBSERVER"):
    INSTALLED_APPS = [*INSTALLED_APPS, "tests.observer"]  # noqa: F405
#: Servers and workers started with MOTIA_TEST_SIG_QUEUE=<queue> route the SigJob step there (task_routes).
if os.environ.get("MOTIA_TEST_SIG_QUEUE"):
    CELERY_TASK_ROUTES = {"SigJob": {"queue": os.environ["MOTIA_TEST_SIG_QUEUE"]}}
