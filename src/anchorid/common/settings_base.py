"""Settings every AnchorID server shares. Each party's settings module star-imports this and adds its apps.

Every environment variable is declared and parsed in ``anchorid.common.config`` (docs/settings.md); the settings
modules only turn those values into Django settings.

Where things live:
- ``ANCHORID_DATA_DIR``: the party's data folder (database, keys). ``anchorid serve PARTY --data DIR`` sets it.
- ``DATABASE_URL``: when set (e.g. ``postgres://127.0.0.1:5432/test``) it replaces the embedded SQLite database.
- ``REDIS_URL``: when set (e.g. ``redis://127.0.0.1:6379/0``) each party's ``CACHES`` gains a ``shared`` Redis
  cache for rate-limit counters and one-time jtis (``anchorid.common.shared_cache``, docs/shared-state.md).
- ``DATABASE_REPLICA_URL``: with ``DATABASE_URL``, a streaming replica of that database; the party's read-only paths
  read from it (``anchorid.common.dbrouter``, decision D26). ``ANCHORID_REPLICA_PIN_SECONDS`` (default 5): how long
  a browser that wrote keeps reading from the primary; ``ANCHORID_REPLICA_RETRY_SECONDS`` (default 10): how long a
  replica that did not answer is left alone.
- ``ANCHORID_SECRET_KEY``: Django's secret key; without it one is generated once and kept in the data folder. Given,
  it must be a real secret (at least 50 characters): ``anchorid serve`` refuses to start otherwise. It also keys the
  encryption of session rows (``anchorid.common.sessions``).

Every file and folder a party creates is its owner's only (umask 077, ``anchorid.common.datafiles``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url

from anchorid.common import config
from anchorid.common.datafiles import DIR_MODE, FILE_MODE, restrict_new_files
from anchorid.common.log_format import log_format, logging_config
from anchorid.common.shared_cache import store_alias

# Whatever a party writes (database, WAL, keys, secrets, files) is its own from the first write (datafiles.py).
restrict_new_files()

DATA_DIR = config.DATA_DIR.value().resolve()


def _secret_key(data_dir: Path) -> str:
    env = config.SECRET_KEY.value()
    if env:
        return env
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def databases(data_dir: Path, name: str) -> dict[str, dict[str, Any]]:
    """``DATABASES`` of a party: ``default`` (:func:`database_settings`) and, with ``DATABASE_REPLICA_URL``, the
    ``replica`` alias its read-only paths read from."""
    from anchorid.common.dbrouter import replica_database

    default = database_settings(data_dir, name)
    return {"default": default, **replica_database(default)}


def database_settings(data_dir: Path, name: str) -> dict[str, Any]:
    """SQLite in WAL mode under the data folder, or the server named by ``DATABASE_URL``."""
    url = config.DATABASE_URL.value()
    if url:
        database: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
        # Each party keeps its own database; under PostgreSQL the test database name carries the party.
        # ANCHORID_TEST_DB_SUFFIX keeps concurrent test runs on one server (two checkouts) apart.
        suffix = config.TEST_DB_SUFFIX.value()
        database.setdefault("TEST", {})["NAME"] = f"test_anchorid_{name}{suffix}"
        return database
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
DEBUG = config.DEBUG.value()
ALLOWED_HOSTS = config.ALLOWED_HOSTS.value()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "Asia/Tokyo"
FORMAT_MODULE_PATH = ["anchorid.common.formats"]  # one date format per language (anchorid.common.display)
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
SESSION_COOKIE_SECURE = not config.INSECURE_COOKIES.value()
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# HTTPS (docs/decisions.md, "HSTS"): behind a TLS-terminating proxy, ANCHORID_TLS_PROXY=1 makes Django trust the
# proxy's X-Forwarded-Proto (set it only when the proxy overwrites that header). Each party sets
# SECURE_HSTS_SECONDS = hsts_seconds(<its origin>); Django's SecurityMiddleware sends Strict-Transport-Security
# only on requests that came over HTTPS, so http://localhost in the demo never gets it.
BEHIND_TLS_PROXY = config.TLS_PROXY.value()
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_HSTS_INCLUDE_SUBDOMAINS = config.HSTS_INCLUDE_SUBDOMAINS.value()
SECURE_HSTS_PRELOAD = False
HSTS_SECONDS = 365 * 24 * 60 * 60


def hsts_seconds(origin: str) -> int:
    """HSTS max-age for a party browsers reach at ``origin``: a year when it is https (or behind a TLS proxy),
    0 otherwise (``ANCHORID_HSTS_SECONDS`` overrides, e.g. a short value while trying HTTPS out)."""
    configured = config.HSTS_SECONDS.value()
    if configured is not None:
        return configured
    secure = origin.strip().lower().startswith("https://") or config.TLS_PROXY.value()
    return HSTS_SECONDS if secure else 0


# Logs on stderr: plain text (the default, for a terminal and the demo) or one JSON object per line with
# ANCHORID_LOG_FORMAT=json; every line names the party and the request id (anchorid.common.log_format,
# docs/observability.md). ANCHORID_LOG_LEVEL=INFO adds one access line per request.
LOGGING: dict[str, Any] = logging_config(log_format(), config.LOG_LEVEL.value().upper())

# /metrics (Prometheus, docs/observability.md): with a token set, only a request with "Authorization: Bearer
# <token>" reads it (at least 32 characters: anchorid serve refuses a shorter one); without, only a request from a
# loopback address that came through no proxy. Scrape-time collectors (the idp's outbox and jobs) are named per party.
ANCHORID_METRICS_TOKEN = config.METRICS_TOKEN.value()
ANCHORID_METRICS_COLLECTORS: list[str] = []

TEMPLATE_DEFAULTS: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [str(Path(__file__).resolve().parent / "admin_templates")],  # the admin's base_site.html (a11y CSS)
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

# A read replica (DATABASE_REPLICA_URL with DATABASE_URL): the router and the middleware that routes each request's
# reads (anchorid.common.dbrouter). Without one, neither is installed: every query goes to "default", as before.
REPLICA_CONFIGURED = bool(config.DATABASE_REPLICA_URL.value() and config.DATABASE_URL.value())
DATABASE_ROUTERS = ["anchorid.common.dbrouter.ReplicaRouter"] if REPLICA_CONFIGURED else []
if REPLICA_CONFIGURED:
    BASE_MIDDLEWARE.insert(0, "anchorid.common.dbrouter.ReplicaRoutingMiddleware")
ANCHORID_REPLICA_PIN_SECONDS = config.REPLICA_PIN_SECONDS.value()
ANCHORID_REPLICA_RETRY_SECONDS = config.REPLICA_RETRY_SECONDS.value()

# Rate limits (anchorid.common.ratelimit): per-name overrides, e.g. '{"login-ip": [600, 600]}', and where the
# counters live: the party's database, or a shared cache alias — Redis ("shared") whenever REDIS_URL is set, unless
# ANCHORID_RATELIMIT_CACHE says "database" or names another alias (anchorid.common.shared_cache).
ANCHORID_RATE_LIMITS = config.RATE_LIMITS.value()
ANCHORID_RATELIMIT_CACHE = store_alias(config.RATELIMIT_CACHE.value())
# Where one-time jtis (client assertions, DPoP proofs) are remembered: resolved like ANCHORID_RATELIMIT_CACHE.
ANCHORID_REPLAY_CACHE = store_alias(config.REPLAY_CACHE.value())
# Behind proxies: how many X-Forwarded-For entries to trust for the client address (ratelimit.client_ip).
ANCHORID_TRUSTED_PROXY_HOPS = config.TRUSTED_PROXY_HOPS.value()
