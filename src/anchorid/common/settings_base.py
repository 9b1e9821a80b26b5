"""Settings every AnchorID server shares. Each party's settings module star-imports this and adds its apps.

Where things live:
- ``ANCHORID_DATA_DIR``: the party's data folder (database, keys). ``anchorid serve PARTY --data DIR`` sets it.
- ``DATABASE_URL``: when set (e.g. ``postgres://127.0.0.1:5432/test``) it replaces the embedded SQLite database.
- ``ANCHORID_SECRET_KEY``: Django's secret key; without it one is generated once and kept in the data folder. Given,
  it must be a real secret (at least 50 characters): ``anchorid serve`` refuses to start otherwise. It also keys the
  encryption of session rows (``anchorid.common.sessions``).

Every file and folder a party creates is its owner's only (umask 077, ``anchorid.common.datafiles``).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url

from anchorid.common.datafiles import DIR_MODE, FILE_MODE, restrict_new_files
from anchorid.common.log_format import log_format, logging_config

# Whatever a party writes (database, WAL, keys, secrets, files) is its own from the first write (datafiles.py).
restrict_new_files()

DATA_DIR = Path(os.environ.get("ANCHORID_DATA_DIR", Path.cwd() / ".anchorid-data")).resolve()


def _secret_key(data_dir: Path) -> str:
    env = os.environ.get("ANCHORID_SECRET_KEY")
    if env:
        return env
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def database_settings(data_dir: Path, name: str) -> dict[str, Any]:
    """SQLite in WAL mode under the data folder, or the server named by ``DATABASE_URL``."""
    url = os.environ.get("DATABASE_URL")
    if url:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
        # Each party keeps its own database; under PostgreSQL the test database name carries the party.
        # ANCHORID_TEST_DB_SUFFIX keeps concurrent test runs on one server (two checkouts) apart.
        suffix = os.environ.get("ANCHORID_TEST_DB_SUFFIX", "")
        config.setdefault("TEST", {})["NAME"] = f"test_anchorid_{name}{suffix}"
        return config
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(data_dir / f"{name}.sqlite3"),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"),
        },
        "TEST": {"NAME": str(data_dir / f"test_{name}.sqlite3")},
    }


SECRET_KEY = _secret_key(DATA_DIR)
DEBUG = os.environ.get("ANCHORID_DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("ANCHORID_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "Asia/Tokyo"
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
USE_I18N = True

STATIC_URL = "/static/"
STATIC_ROOT = str(DATA_DIR / "static")
# Django's file storage (collectstatic into the data folder, uploads) sets these modes explicitly, past the umask.
FILE_UPLOAD_PERMISSIONS = FILE_MODE
FILE_UPLOAD_DIRECTORY_PERMISSIONS = DIR_MODE

# Security headers: secure cookies whenever served over TLS; strict framing and content sniffing rules.
SESSION_COOKIE_HTTPONLY = True
# Session rows are encrypted, not only signed: a copy of the database shows no token or claim (common/sessions.py).
SESSION_SERIALIZER = "anchorid.common.sessions.EncryptedJSONSerializer"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = os.environ.get("ANCHORID_INSECURE_COOKIES") != "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# HTTPS (docs/decisions.md, "HSTS"): behind a TLS-terminating proxy, ANCHORID_TLS_PROXY=1 makes Django trust the
# proxy's X-Forwarded-Proto (set it only when the proxy overwrites that header). Each party sets
# SECURE_HSTS_SECONDS = hsts_seconds(<its origin>); Django's SecurityMiddleware sends Strict-Transport-Security
# only on requests that came over HTTPS, so http://localhost in the demo never gets it.
BEHIND_TLS_PROXY = os.environ.get("ANCHORID_TLS_PROXY") == "1"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_HSTS_INCLUDE_SUBDOMAINS = os.environ.get("ANCHORID_HSTS_INCLUDE_SUBDOMAINS") == "1"
SECURE_HSTS_PRELOAD = False
HSTS_SECONDS = 365 * 24 * 60 * 60


def hsts_seconds(origin: str) -> int:
    """HSTS max-age for a party browsers reach at ``origin``: a year when it is https (or behind a TLS proxy),
    0 otherwise (``ANCHORID_HSTS_SECONDS`` overrides, e.g. a short value while trying HTTPS out)."""
    configured = os.environ.get("ANCHORID_HSTS_SECONDS")
    if configured:
        return int(configured)
    secure = origin.strip().lower().startswith("https://") or os.environ.get("ANCHORID_TLS_PROXY") == "1"
    return HSTS_SECONDS if secure else 0


# Logs on stderr: plain text (the default, for a terminal and the demo) or one JSON object per line with
# ANCHORID_LOG_FORMAT=json; every line names the party and the request id (anchorid.common.log_format,
# docs/observability.md). ANCHORID_LOG_LEVEL=INFO adds one access line per request.
LOGGING: dict[str, Any] = logging_config(log_format(), os.environ.get("ANCHORID_LOG_LEVEL", "WARNING"))

# /metrics (Prometheus, docs/observability.md): with a token set, only a request with "Authorization: Bearer
# <token>" reads it (at least 32 characters: anchorid serve refuses a shorter one); without, only a request from a
# loopback address that came through no proxy. Scrape-time collectors (the idp's outbox and jobs) are named per party.
ANCHORID_METRICS_TOKEN = os.environ.get("ANCHORID_METRICS_TOKEN") or None
ANCHORID_METRICS_COLLECTORS: list[str] = []

TEMPLATE_DEFAULTS: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ]
        },
    }
]

BASE_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "anchorid.common",
]

BASE_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # the URL pattern a request reached, for the metrics' route label (anchorid.common.observed_wsgi)
    "anchorid.common.observed_wsgi.RouteLabelMiddleware",
]

# Rate limits (anchorid.common.ratelimit): per-name overrides, e.g. '{"login-ip": [600, 600]}', and where the
# counters live: the party's database by default, or the shared cache alias named here (e.g. Redis).
ANCHORID_RATE_LIMITS = json.loads(os.environ.get("ANCHORID_RATE_LIMITS", "{}"))
ANCHORID_RATELIMIT_CACHE = os.environ.get("ANCHORID_RATELIMIT_CACHE") or None
