"""Django settings for the sample providers (``anchorid serve providers``): five relying parties of AnchorID that
receive its Shared Signals events.

Besides the shared settings:
- ``ANCHORID_PROVIDERS_ORIGIN``: where browsers reach this server (default ``http://localhost:8003``); each
  provider lives under ``<origin>/<slug>/`` and its redirect URIs are registered there (``anchorid providers
  setup`` writes them).
- Each provider's relying-party configuration, keys and receiver file live in ``<data>/<slug>/``.
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

INSTALLED_APPS = [*BASE_APPS, "anchorid.ssf_receiver", "anchorid.providersim"]
MIDDLEWARE = [*BASE_MIDDLEWARE, "anchorid.common.csp.ContentSecurityPolicyMiddleware"]
ROOT_URLCONF = "anchorid.providersim.urls"
WSGI_APPLICATION = "anchorid.providersim.wsgi.application"
TEMPLATES = TEMPLATE_DEFAULTS
DATABASES = databases(DATA_DIR, "providers")
CACHES = cache_settings("providers")  # + Redis ("shared") when REDIS_URL is set

# One host may also serve the idp and the city (different ports): cookies are per host, so names are our own.
SESSION_COOKIE_NAME = "providers_sessionid"
CSRF_COOKIE_NAME = "providers_csrftoken"

ANCHORID_PROVIDERS_ORIGIN = config.PROVIDERS_ORIGIN.value()
SECURE_HSTS_SECONDS = hsts_seconds(ANCHORID_PROVIDERS_ORIGIN)
# As the city: the sign-up and logout buttons are answered with a redirect to the idp (form-action).
ANCHORID_CONTENT_SECURITY_POLICY = STRICT_POLICY
ANCHORID_CSP_FORM_TARGETS = "anchorid.providersim.csp.form_targets"
