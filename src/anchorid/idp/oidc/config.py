"""The OpenID Provider's tunables, read from Django settings with defaults (``ANCHORID_OIDC_*``)."""

from __future__ import annotations

from anchorid.common import config as settings_registry
from anchorid.idp import conf

# Lifetimes in seconds. FAPI 2.0 §5.3.2.1: codes live at most 60 s; RFC 9126 §2.2: request_uri expires_in.
CODE_LIFETIME = 60
REQUEST_URI_LIFETIME = 300
ID_TOKEN_LIFETIME = 300
ACCESS_TOKEN_LIFETIME = 300
REFRESH_TOKEN_LIFETIME = 30 * 24 * 3600
CLIENT_ASSERTION_MAX_LIFETIME = 300
DPOP_IAT_WINDOW = 60
DPOP_NONCE_WINDOW = 300
LOGOUT_TOKEN_LIFETIME = 120
BACKCHANNEL_TIMEOUT = 3.0
# A change to a client reaches every process within a second through its generation stamp (clients.py); this
# expiry is only the backstop for a change made behind the application's back (SQL by hand).
CLIENT_CACHE_SECONDS = 300.0
JWKS_URI_CACHE_SECONDS = 300.0
SIGNING_KEYS_CACHE_SECONDS = 30.0


def issuer() -> str:
    """The issuer identifier: the idp's origin (ANCHORID_IDP_ORIGIN), with no trailing slash."""
    return conf.idp_origin()


def endpoint(path: str) -> str:
    return issuer() + path


def dpop_nonce_required() -> bool:
    return bool(settings_registry.OIDC_DPOP_NONCE_REQUIRED.configured())


def rotate_confidential_refresh_tokens() -> bool:
    """``ANCHORID_OIDC_REFRESH_ROTATION=all``: confidential clients' refresh tokens rotate too."""
    return settings_registry.OIDC_REFRESH_ROTATION.configured() == "all"
