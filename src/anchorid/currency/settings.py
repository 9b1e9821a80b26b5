"""Django settings for the local currency (``anchorid serve currency``), a relying party of AnchorID.

Besides the shared settings: ``ANCHORID_CURRENCY_ORIGIN`` (where browsers reach it, default
``http://localhost:8005``), ``ANCHORID_CURRENCY_STEP_UP_YEN`` (payments above it are confirmed with a passkey) and
``ANCHORID_CURRENCY_JOB_SECONDS``. The relying-party files live in the data folder (``anchorid currency setup``).
"""

from anchorid.common import config
from anchorid.common.csp import STRICT_POLICY
from anchorid.common.settings_base import *  # noqa: F403
from anchorid.common.settings_base import (
    BASE_APPS,
    BASE_MIDDLEWARE,
    DATA_DIR,
    TEMPLATE_DEFAULTS,
    databases,
    hsts_seconds,
)
from anchorid.common.shared_cache import cache_settings

INSTALLED_APPS = [*BASE_APPS, "anchorid.currency", "anchorid.currency.ledger"]
MIDDLEWARE = [*BASE_MIDDLEWARE, "anchorid.common.csp.ContentSecurityPolicyMiddleware"]
ROOT_URLCONF = "anchorid.currency.urls"
WSGI_APPLICATION = "anchorid.currency.wsgi.application"
TEMPLATES = TEMPLATE_DEFAULTS
DATABASES = databases(DATA_DIR, "currency")
# Keep the embedded SQLite connection for the thread's next request (Django's default, 0, reopens it and re-runs the
# PRAGMAs per request: a payment's largest single cost after the ledger's own statements). PostgreSQL keeps the
# URL's setting.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["CONN_MAX_AGE"] = 300
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
CACHES = cache_settings("currency")

SESSION_COOKIE_NAME = "currency_sessionid"
CSRF_COOKIE_NAME = "currency_csrftoken"

ANCHORID_CURRENCY_ORIGIN = config.CURRENCY_ORIGIN.value()
SECURE_HSTS_SECONDS = hsts_seconds(ANCHORID_CURRENCY_ORIGIN)
ANCHORID_CONTENT_SECURITY_POLICY = STRICT_POLICY
ANCHORID_CSP_FORM_TARGETS = "anchorid.currency.csp.form_targets"
