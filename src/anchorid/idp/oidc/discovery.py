"""OpenID Connect Discovery 1.0 §3 (and RFC 8414 §2): the provider's metadata at
``/.well-known/openid-configuration`` (same document at ``/.well-known/oauth-authorization-server``).

The issuer is ``ANCHORID_IDP_ORIGIN``; endpoint URLs are fixed (the city engineer's client and the interop tests
rely on them): ``/oidc/par``, ``/oidc/authorize``, ``/oidc/token``, ``/oidc/userinfo``, ``/oidc/jwks``,
``/oidc/introspect``, ``/oidc/revoke``, ``/oidc/logout``.
"""

from __future__ import annotations

from typing import Any

from anchorid.idp.assurance import ACR_VALUES
from anchorid.idp.oidc import config
from anchorid.idp.oidc.claims import KNOWN_CLAIMS, SCOPE_CLAIMS
from anchorid.idp.oidc.ida import EVIDENCE_TYPE, TRUST_FRAMEWORK

PATHS = {
    "pushed_authorization_request_endpoint": "/oidc/par",
    "authorization_endpoint": "/oidc/authorize",
    "token_endpoint": "/oidc/token",
    "userinfo_endpoint": "/oidc/userinfo",
    "jwks_uri": "/oidc/jwks",
    "introspection_endpoint": "/oidc/introspect",
    "revocation_endpoint": "/oidc/revoke",
    "end_session_endpoint": "/oidc/logout",
}
SIGNING_ALGS = ["ES256", "PS256"]
# OpenID Connect Discovery §3: "The algorithm RS256 MUST be included" for ID tokens. Only simple-profile clients can
# be registered for it; FAPI clients keep FAPI 2.0 §5.4 (ES256/PS256), and everything else stays ES256/PS256.
ID_TOKEN_SIGNING_ALGS = [*SIGNING_ALGS, "RS256"]
AUTH_METHODS = ["private_key_jwt", "client_secret_basic", "none"]


def metadata() -> dict[str, Any]:
    issuer = config.issuer()
    document: dict[str, Any] = {"issuer": issuer}
    document.update({name: issuer + path for name, path in PATHS.items()})
    document.update(
        {
            "scopes_supported": list(SCOPE_CLAIMS),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": [
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ],
            "subject_types_supported": ["pairwise", "public"],
            "id_token_signing_alg_values_supported": ID_TOKEN_SIGNING_ALGS,
            "userinfo_signing_alg_values_supported": [],
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "token_endpoint_auth_signing_alg_values_supported": SIGNING_ALGS,
            "introspection_endpoint_auth_methods_supported": AUTH_METHODS[:2],
            "introspection_endpoint_auth_signing_alg_values_supported": SIGNING_ALGS,
            "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
            "revocation_endpoint_auth_signing_alg_values_supported": SIGNING_ALGS,
            "code_challenge_methods_supported": ["S256"],
            "require_pushed_authorization_requests": False,  # per client: FAPI clients must push
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "authorization_response_iss_parameter_supported": True,
            "dpop_signing_alg_values_supported": SIGNING_ALGS,
            "claims_parameter_supported": True,
            "claims_supported": ["sub", "acr", "amr", "auth_time", "iss", "aud", *KNOWN_CLAIMS],
            "acr_values_supported": list(ACR_VALUES.values()),
            "prompt_values_supported": ["none", "login", "consent"],
            "claim_types_supported": ["normal"],
            "ui_locales_supported": ["ja", "en"],
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "frontchannel_logout_supported": False,
            # OpenID Connect for Identity Assurance 1.0 §9
            "verified_claims_supported": True,
            "trust_frameworks_supported": [TRUST_FRAMEWORK],
            "evidence_supported": [EVIDENCE_TYPE],
            "claims_in_verified_claims_supported": ["name", "gender", "birthdate", "address"],
        }
    )
    return document
