"""Settings of the example project.

Embedded defaults (SQLite, a filesystem broker under ``var/``, an in-memory
channel layer) unless ``DATABASE_URL`` / ``CELERY_BROKER_URL`` /
``CHANNEL_LAYER_URL`` (or ``REDIS_URL``) say otherwise, in the environment or
in ``.env`` next to ``manage.py``.

Production unless ``DJANGO_DEBUG=1`` (``scripts/run`` sets it): then
``DJANGO_SECRET_KEY`` and ``DJANGO_ALLOWED_HOSTS`` are required, cookies are
HTTPS-only and HTTP is redirected to HTTPS (docs/security.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from motia_django.env import load_env

BASE_DIR = Path(__file__).resolve().parent.parent
load_env(BASE_DIR)  # the project's .env, as Motia's CLI loads it; real environment variables win
VAR_DIR = Path(os.environ.get("MOTIA_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)



def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None or not value.strip() else value.strip().lower() in ("1", "true", "yes", "on")


DEBUG = _flag("DJANGO_DEBUG", False)
if os.environ.get("DJANGO_SECRET_KEY"):
    SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
elif DEBUG:
    SECRET_KEY = "django-insecure-development-only-key"  # never with DEBUG off
else:
    raise ImproperlyConfigured("set DJANGO_SECRET_KEY (or DJANGO_DEBUG=1 for a development server)")
_DEV_HOSTS = "localhost,127.0.0.1,[::1],testserver"
ALLOWED_HOSTS = [host.strip() for host in os.environ.get("DJANGO_ALLOWED_HOSTS", _DEV_HOSTS if DEBUG else "")
                 .split(",") if host.strip()]

# -- HTTPS: on unless DEBUG; behind a TLS-terminating proxy set DJANGO_SECURE_PROXY_SSL_HEADER=1 -------------
SECURE_SSL_REDIRECT = _flag("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "0" if DEBUG else str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("DJANGO_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = _flag("DJANGO_HSTS_PRELOAD", not DEBUG)
if _flag("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "motia_django",  # before the admin, so its admin index shows the workbench links
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "rest_framework",  # the operator REST API's browsable pages
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
ASGI_APPLICATION = "project.asgi.application"
WSGI_APPLICATION = "project.wsgi.application"

_SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"), conn_max_age=0
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = _SQLITE_OPTIONS

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_TZ = True
STATIC_URL = "static/"
# where `manage.py collectstatic` gathers the admin's and workbench's files for the proxy to serve
STATIC_ROOT = os.environ.get("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles"))

# -- Celery: embedded filesystem broker unless CELERY_BROKER_URL is set ---------------
# (kombu's transport, writing each message whole: motia_django/queues/dev_broker.py)
_BROKER_DIR = VAR_DIR / "broker"
for _sub in ("in", "processed", "control"):
    (_BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT = "motia_django.queues.dev_broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "in"),
        "data_folder_out": str(_BROKER_DIR / "in"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "rejected_folder": str(_BROKER_DIR / "rejected"),
        "store_processed": False,
        "polling_interval": 0.05,
    }
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "motia_django.cron.scheduler:CronScheduler"

# -- Channels: stream WebSockets (docs/streams.md) ----------------------------------------
# In memory, only this process's own writes reach its sockets; with Redis, writes made
# by Celery workers reach them too.
CHANNEL_LAYER_URL = os.environ.get("CHANNEL_LAYER_URL") or os.environ.get("REDIS_URL")
if CHANNEL_LAYER_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [CHANNEL_LAYER_URL], "prefix": os.environ.get("CHANNEL_LAYER_PREFIX", "motia")},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}}

MOTIA = {
    "STEPS_DIRS": [os.environ.get("MOTIA_STEPS_DIR", str(BASE_DIR / "steps"))],
    "LOG_FORMAT": os.environ.get("MOTIA_LOG_FORMAT", "plain"),
}
