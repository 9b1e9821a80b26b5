"""Django settings for the e-library (``anchorid serve library``), a relying party of AnchorID.

Besides the shared settings:
- ``ANCHORID_LIBRARY_ORIGIN``: where browsers reach the library (default ``http://localhost:8006``);
- ``ANCHORID_LIBRARY_CITY_CODE``: the municipality whose residents may register (``resident_of``);
- ``ANCHORID_LIBRARY_CONTENT_URL_SECONDS``: how long a signed content URL of the reader is valid;
- ``ANCHORID_LIBRARY_CIRCULATION_SECONDS``: how often the worker ends loans and holds that are due;
- the relying-party configuration and keys live in the data folder (``anchorid library setup``);
- e-mail notices through Django's mail framework (``ANCHORID_EMAIL_*``, as the idp).
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

INSTALLED_APPS = [*BASE_APPS, "anchorid.library"]
MIDDLEWARE = [*BASE_MIDDLEWARE, "anchorid.common.csp.ContentSecurityPolicyMiddleware"]
ROOT_URLCONF = "anchorid.library.urls"
WSGI_APPLICATION = "anchorid.library.wsgi.application"
TEMPLATES = TEMPLATE_DEFAULTS
DATABASES = databases(DATA_DIR, "library")
CACHES = cache_settings("library")  # + Redis ("shared") when REDIS_URL is set

SESSION_COOKIE_NAME = "library_sessionid"
CSRF_COOKIE_NAME = "library_csrftoken"

ANCHORID_LIBRARY_ORIGIN = config.LIBRARY_ORIGIN.value()
ANCHORID_LIBRARY_CITY_CODE = config.LIBRARY_CITY_CODE.value()
ANCHORID_LIBRARY_CONTENT_URL_SECONDS = config.LIBRARY_CONTENT_URL_SECONDS.value()
SECURE_HSTS_SECONDS = hsts_seconds(ANCHORID_LIBRARY_ORIGIN)
ANCHORID_CONTENT_SECURITY_POLICY = STRICT_POLICY
ANCHORID_CSP_FORM_TARGETS = "anchorid.library.csp.form_targets"
#: Where the EPUB files live (one file per title, named by its content hash).
LIBRARY_BOOKS_DIR = DATA_DIR / "books"

EMAIL_BACKEND = config.EMAIL_BACKEND.value()
if config.EMAIL_FILE_PATH.is_set():
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(config.EMAIL_FILE_PATH.value())
DEFAULT_FROM_EMAIL = config.EMAIL_FROM.value()
