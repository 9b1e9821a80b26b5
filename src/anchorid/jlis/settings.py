"""Django settings for the simulated J-LIS server (``anchorid serve jlis``).

Besides the shared settings, ``ANCHORID_JLIS_ORIGIN``: where jlis is reached (default ``http://localhost:8000``);
an https origin turns HSTS on.
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

INSTALLED_APPS = [*BASE_APPS, "anchorid.jlis"]
MIDDLEWARE = [*BASE_MIDDLEWARE, "anchorid.common.csp.ContentSecurityPolicyMiddleware"]
# The staff pages (Django admin) need nothing inline either.
ANCHORID_CONTENT_SECURITY_POLICY = STRICT_POLICY
ROOT_URLCONF = "anchorid.jlis.urls"
WSGI_APPLICATION = "anchorid.jlis.wsgi.application"
TEMPLATES = TEMPLATE_DEFAULTS
DATABASES = databases(DATA_DIR, "jlis")
CACHES = cache_settings("jlis")  # + Redis ("shared") when REDIS_URL is set

ANCHORID_JLIS_ORIGIN = config.JLIS_ORIGIN.value()
SECURE_HSTS_SECONDS = hsts_seconds(ANCHORID_JLIS_ORIGIN)

# Passphrase that seals the CA and OCSP-responder private keys in the data folder (the platform's key store: scrypt,
# AES-256-GCM; at least 12 characters). Required: there is no fallback, and anchorid serve jlis refuses to start
# without it (keystore.py, startup_checks.py). The demo makes one at its first run and passes it.
JLIS_CA_PASSPHRASE = config.JLIS_CA_PASSPHRASE.value() or ""
# Where the encrypted key files live, and where counter-issued card files go by default.
JLIS_KEY_DIR = DATA_DIR / "jlis-keys"
JLIS_CARDS_DIR = DATA_DIR / "cards"
# The CA and OCSP keys in a hardware security module instead (docs/keystore.md): ``pkcs11`` with the PKCS#11 module
# (default: the idp's ANCHORID_PKCS11_MODULE), J-LIS's own token and its user PIN.
JLIS_KEYSTORE = config.JLIS_KEYSTORE.value()
JLIS_PKCS11_MODULE = config.JLIS_PKCS11_MODULE.value() or config.PKCS11_MODULE.value()
JLIS_PKCS11_TOKEN_LABEL = config.JLIS_PKCS11_TOKEN_LABEL.value()
JLIS_PKCS11_PIN = config.JLIS_PKCS11_PIN.value()
# Romaji municipality name in the signature certificate subject (jpki-reference.md §1.2, L=Kiyose-shi).
JLIS_LOCALITY = config.JLIS_LOCALITY.value()
JLIS_MUNICIPALITY_CODE = config.JLIS_MUNICIPALITY_CODE.value()
