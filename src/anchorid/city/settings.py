"""Django settings for the city's resident services (``anchorid serve city``), a relying party of AnchorID.

Besides the shared settings:
- ``ANCHORID_CITY_ORIGIN``: where residents' browsers reach the city (default ``http://localhost:8002``); the
  redirect URIs registered at the idp are under it (``anchorid city setup`` writes them).
- The relying-party configuration (issuer, client_id, redirect URIs, scope, claims) and the city's two keys live
  in the data folder, written by ``anchorid city setup`` (see docs/city.md).
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

INSTALLED_APPS = [*BASE_APPS, "anchorid.city", "anchorid.city.booking", "anchorid.city.lottery", "anchorid.city.staff"]
INSTALLED_APPS += ["anchorid.ssf_receiver", "anchorid.city.departments"]
INSTALLED_APPS += ["anchorid.city.adoption"]
MIDDLEWARE = [*BASE_MIDDLEWARE, "anchorid.common.csp.ContentSecurityPolicyMiddleware"]
ROOT_URLCONF = "anchorid.city.urls"
WSGI_APPLICATION = "anchorid.city.wsgi.application"
TEMPLATES = TEMPLATE_DEFAULTS
DATABASES = databases(DATA_DIR, "city")
CACHES = cache_settings("city")  # + Redis ("shared") when REDIS_URL is set

# Cookies are per host, not per port: on one machine (localhost:8001 the idp, localhost:8002 the city) the city's
# session and CSRF cookies must not overwrite the idp's.
SESSION_COOKIE_NAME = "city_sessionid"
CSRF_COOKIE_NAME = "city_csrftoken"

ANCHORID_CITY_ORIGIN = config.CITY_ORIGIN.value()
SECURE_HSTS_SECONDS = hsts_seconds(ANCHORID_CITY_ORIGIN)
# Nothing inline, nothing from elsewhere. Forms post here, but the login and logout buttons are answered with a
# redirect to the idp, which browsers check against form-action too: the middleware adds the idp's origin.
ANCHORID_CONTENT_SECURITY_POLICY = STRICT_POLICY
ANCHORID_CSP_FORM_TARGETS = "anchorid.city.csp.form_targets"
