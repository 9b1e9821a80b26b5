"""City tests (``--ds=anchorid.city.settings``): the relying party's pages and endpoints with a provider whose
discovery document and keys are given in-process (the live idp is exercised in tests/interop)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from anchorid.city import login
from anchorid.common.rp.client import AnchorIDClient, ClientConfig

ISSUER = "http://idp.test"
CLIENT_ID = "city"


@pytest.fixture
def provider_key() -> ECKey:
    key = ECKey.generate_key("P-256", private=True)
    return ECKey.import_key({**key.as_dict(private=True), "kid": "idp-1"})


@pytest.fixture
def rp(provider_key: ECKey, monkeypatch: pytest.MonkeyPatch) -> AnchorIDClient:
    """The city's client, with the provider's metadata and JWKS already known (no network)."""
    config = ClientConfig(
        issuer=ISSUER,
        client_id=CLIENT_ID,
        redirect_uri="http://testserver/callback/",
        post_logout_redirect_uri="http://testserver/logged-out/",
        client_key=ECKey.generate_key("P-256", private=True),
        dpop_key=ECKey.generate_key("P-256", private=True),
    )
    client = AnchorIDClient(config)
    client._metadata = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "pushed_authorization_request_endpoint": f"{ISSUER}/par",
        "token_endpoint": f"{ISSUER}/token",
        "userinfo_endpoint": f"{ISSUER}/userinfo",
        "end_session_endpoint": f"{ISSUER}/logout",
        "jwks_uri": f"{ISSUER}/jwks",
    }
    client._jwks = KeySet([ECKey.import_key(provider_key.as_dict(private=False) | {"kid": "idp-1"})])
    monkeypatch.setattr(login, "client", lambda: client)
    return client


@pytest.fixture
def sign(provider_key: ECKey) -> Callable[..., str]:
    def sign_(claims: dict[str, Any], *, key: ECKey | None = None, typ: str = "logout+jwt") -> str:
        return jwt.encode({"alg": "ES256", "kid": "idp-1", "typ": typ}, claims, key or provider_key)

    return sign_


def logout_claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 120,
        "jti": f"jti-{time.monotonic_ns()}",
        "sub": "pairwise-sub-1",
        "sid": "idp-session-1",
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}
