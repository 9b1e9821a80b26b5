"""Django settings for the participation platform (``anchorid serve participation``), a relying party of AnchorID.

Besides the shared settings:
- ``ANCHORID_PARTICIPATION_ORIGIN``: where browsers reach the platform (default ``http://localhost:8004``); its
  redirect URIs registered at the idp are under it (``anchorid participation setup`` writes them).
- The relying-party configuration, its two keys and the tally-signing key live in the data folder.
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

INSTALLED_APPS = [*BASE_APPS, "anchorid.participation"]
MIDDLEWARE = [*BASE_MIDDLEWARE, "anchorid.common.csp.ContentSecurityPolicyMiddleware"]
ROOT_URLCONF = "anchorid.participation.urls"
WSGI_APPLICATION = "anchorid.participation.wsgi.application"
TEMPLATES = TEMPLATE_DEFAULTS
DATABASES = databases(DATA_DIR, "participation")
CACHES = cache_settings("participation")  # + Redis ("shared") when REDIS_URL is set

# One host serves the idp, the city and this platform on different ports: cookie names of our own.
SESSION_COOKIE_NAME = "participation_sessionid"
CSRF_COOKIE_NAME = "participation_csrftoken"

ANCHORID_PARTICIPATION_ORIGIN = config.PARTICIPATION_ORIGIN.value()
SECURE_HSTS_SECONDS = hsts_seconds(ANCHORID_PARTICIPATION_ORIGIN)
# The login and logout buttons are answered with a redirect to the idp (form-action names its origin).
ANCHORID_CONTENT_SECURITY_POLICY = STRICT_POLICY
ANCHORID_CSP_FORM_TARGETS = "anchorid.participation.csp.form_targets"
# Sessions: the common store (fewer statements to write one) with a lighter read, as every vote reads one.
SESSION_ENGINE = "anchorid.participation.session_store"

# E-mail notifications to participants who gave (and verified) an address here: the backend, or files in a folder.
EMAIL_BACKEND = config.EMAIL_BACKEND.value()
if config.EMAIL_FILE_PATH.is_set():
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(config.EMAIL_FILE_PATH.value())
DEFAULT_FROM_EMAIL = config.EMAIL_FROM.value()
