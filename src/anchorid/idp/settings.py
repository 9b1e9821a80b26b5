"""Django settings for the ID platform (``anchorid serve idp``).

Besides the shared settings:
- ``ANCHORID_KEYSTORE_PASSPHRASE``: unlocks the platform's key files (no default: key operations refuse to run
  without it and ``anchorid serve idp`` refuses to start, see docs/keystore.md and startup_checks.py).
  ``ANCHORID_KEYSTORE_DIR`` moves the key files (default: DATA_DIR/keys).
- ``ANCHORID_KEYSTORE``: ``file`` (default) or ``pkcs11``: the keys in a hardware security module, through the
  PKCS#11 module ``ANCHORID_PKCS11_MODULE``, token ``ANCHORID_PKCS11_TOKEN_LABEL``, user PIN ``ANCHORID_PKCS11_PIN``
  (docs/keystore.md; ``anchorid idp keys migrate --to pkcs11`` moves file keys there).
- ``ANCHORID_AUDIT_ORIGIN``: the first line of every signed audit checkpoint, naming this log.
- ``ANCHORID_IDP_ORIGIN``: where browsers reach the idp (default ``http://localhost:8001``); WebAuthn RP ID = its host.
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

INSTALLED_APPS = [*BASE_APPS, "anchorid.idp", "anchorid.idp.audit", "anchorid.idp.accounts", "anchorid.idp.deviceca"]
INSTALLED_APPS += ["anchorid.idp.onboarding"]
INSTALLED_APPS += ["anchorid.idp.passkeys", "anchorid.idp.login", "anchorid.idp.selfservice"]
INSTALLED_APPS += ["anchorid.idp.oidc"]
INSTALLED_APPS += ["anchorid.idp.tsa", "anchorid.idp.signing"]
INSTALLED_APPS += ["anchorid.idp.ssf"]
INSTALLED_APPS += ["anchorid.idp.lifecycle"]
INSTALLED_APPS += ["anchorid.idp.adoption", "anchorid.idp.guardians"]
INSTALLED_APPS += ["anchorid.idp.links"]
AUTH_USER_MODEL = "accounts.Account"
MIDDLEWARE = [*BASE_MIDDLEWARE, "anchorid.common.csp.ContentSecurityPolicyMiddleware"]
ROOT_URLCONF = "anchorid.idp.urls"
WSGI_APPLICATION = "anchorid.idp.wsgi.application"
TEMPLATES = TEMPLATE_DEFAULTS
DATABASES = databases(DATA_DIR, "idp")
CACHES = cache_settings("idp")  # + Redis ("shared") when REDIS_URL is set
# Django's database sessions, with fewer statements per login (anchorid/common/session_store.py).
SESSION_ENGINE = "anchorid.common.session_store"

# Strict by default: everything from our own origin, nothing inline, never framed. Pages that need more
# (the card helper on localhost) widen it per view, not here.
ANCHORID_CONTENT_SECURITY_POLICY = STRICT_POLICY

ANCHORID_KEYSTORE_DIR = config.KEYSTORE_DIR.value() or DATA_DIR / "keys"
ANCHORID_KEYSTORE_PASSPHRASE = config.KEYSTORE_PASSPHRASE.value()
ANCHORID_KEYSTORE = config.KEYSTORE.value()
ANCHORID_PKCS11_MODULE = config.PKCS11_MODULE.value()
ANCHORID_PKCS11_TOKEN_LABEL = config.PKCS11_TOKEN_LABEL.value()
ANCHORID_PKCS11_PIN = config.PKCS11_PIN.value()

ANCHORID_AUDIT_ORIGIN = config.AUDIT_ORIGIN.value()

# The origin residents' browsers see (scheme://host[:port]); WebAuthn's RP ID is its host. WebAuthn refuses an IP
# address as RP ID, so local runs use "localhost", which browsers treat as a secure context even over http.
ANCHORID_IDP_ORIGIN = config.IDP_ORIGIN.value()
SECURE_HSTS_SECONDS = hsts_seconds(ANCHORID_IDP_ORIGIN)
# The localhost port of the resident's card helper that card pages call (anchorid card-helper --port).
ANCHORID_CARD_HELPER_PORT = config.CARD_HELPER_PORT.value()

# The KeyStore key that signs audit checkpoints (ES256); created on first checkpoint if missing.
ANCHORID_AUDIT_SIGNING_KEY = "platform"

# Notice e-mails (anchorid.idp.lifecycle) go through Django's mail framework: printed on the console by default,
# written as files to ANCHORID_EMAIL_FILE_PATH when set (the demo), or any backend named in ANCHORID_EMAIL_BACKEND.
EMAIL_BACKEND = config.EMAIL_BACKEND.value()
if config.EMAIL_FILE_PATH.is_set():
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(config.EMAIL_FILE_PATH.value())
DEFAULT_FROM_EMAIL = config.EMAIL_FROM.value()

# Gauges read from the database when /metrics is scraped: the SSF outbox's depth and age, the jobs' state.
ANCHORID_METRICS_COLLECTORS = ["anchorid.idp.metrics.DatabaseCollector"]
