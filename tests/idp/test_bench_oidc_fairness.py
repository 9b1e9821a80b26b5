"""benchmarks/bench_oidc.py compares like with like: both providers' configurations, read from their sources (the
idp's settings and discovery document; benchmarks/oidc-provider/server.mjs), agree on the refresh-token policy of
each measured flow and on the features a request pays for (PAR, PKCE, client authentication, DPoP nonces, ES256)."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client as HttpClient

from anchorid.idp.oidc import config
from anchorid.idp.oidc.grant_rules import Attempt
from anchorid.idp.oidc.models import Client

from .oidc_support import provider, register

__all__ = ["provider"]

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SERVER_MJS = (BENCHMARKS / "oidc-provider" / "server.mjs").read_text()


def _bench() -> Any:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module("bench_oidc")
    finally:
        sys.path.remove(str(BENCHMARKS))


def _node_setting(pattern: str) -> str:
    match = re.search(pattern, SERVER_MJS)
    assert match, f"server.mjs no longer says {pattern!r}"
    return match.group(0)


@pytest.mark.parametrize("policy", ["keep", "rotate"])
def test_it_configures_the_same_refresh_policy_on_both_providers(provider: None, settings, policy: str) -> None:  # type: ignore[no-untyped-def]
    bench = _bench()
    idp_env, node_config = bench.fairness(policy, 2)
    # oidc-provider: rotation follows the run's configuration, and a refresh token comes with every code.
    _node_setting(r"rotateRefreshToken: \(\) => config\.rotate === true")
    _node_setting(r"issueRefreshToken: async \(\) => true")
    assert node_config["rotate"] is (policy == "rotate")
    # The idp: the bench client is confidential; its refresh token rotates exactly when oidc-provider's does.
    settings.ANCHORID_OIDC_REFRESH_ROTATION = idp_env["ANCHORID_OIDC_REFRESH_ROTATION"]
    register("bench")
    client = Client.objects.get(client_id="bench")
    assert client.auth_method != Client.AuthMethod.NONE
    assert Attempt(client=client, now=None).rotates is node_config["rotate"]  # type: ignore[arg-type]
    # Same process count on both sides.
    assert idp_env["ANCHORID_WORKERS"] == "2"
    assert node_config["workers"] == 2
    # Every flow names its policy; only the exchanges differ.
    assert {policy for _, policy, _ in bench.FLOWS.values()} == {"keep", "rotate"}


def test_it_gives_both_providers_the_same_features(provider: None) -> None:
    metadata = HttpClient().get("/.well-known/openid-configuration").json()
    bench = _bench()
    idp_env, _ = bench.fairness("keep", 1)
    # PAR required on both: the idp requires it of FAPI clients, the profile `anchorid idp client add` (and so the
    # bench client) gets by default.
    _, client = register("bench")
    assert client.profile == Client.Profile.FAPI
    assert "pushed_authorization_request_endpoint" in metadata
    _node_setting(r"pushedAuthorizationRequests: \{ enabled: true, requirePushedAuthorizationRequests: true \}")
    # PKCE S256 required on both (the idp refuses an authorization request without it: tests/idp/test_oidc_par).
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    _node_setting(r"pkce: \{ required: \(\) => true \}")
    # private_key_jwt with ES256, DPoP proofs with ES256 and server nonces, ES256 ID tokens.
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    _node_setting(r'token_endpoint_auth_method: "private_key_jwt"')
    _node_setting(r'enabledJWA: \{ clientAuthSigningAlgValues: \["ES256"\], dPoPSigningAlgValues: \["ES256"\] \}')
    assert "ES256" in metadata["dpop_signing_alg_values_supported"]
    assert idp_env["ANCHORID_OIDC_DPOP_NONCE_REQUIRED"] == "1"
    assert config.dpop_nonce_required()
    _node_setting(r"dPoP: \{ enabled: true, nonceSecret, requireNonce: \(\) => true \}")
    assert "ES256" in metadata["id_token_signing_alg_values_supported"]
    _node_setting(r'id_token_signed_response_alg: "ES256"')
    _node_setting(r"dpop_bound_access_tokens: true")
    # The same scope is asked of both, and oidc-provider releases the profile claims the idp's scope maps to.
    assert bench.SCOPE == "openid profile"
    _node_setting(r'profile: \["name", "birthdate", "gender"\]')
