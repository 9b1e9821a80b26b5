"""The token endpoint: codes, PKCE, client authentication (RFC 7523), refresh rotation."""

from __future__ import annotations

import json
from datetime import timedelta

from django.test import Client as HttpClient
from django.utils import timezone

from anchorid.idp.oidc.models import Grant

from .oidc_support import (
    ISSUER,
    b64url,
    decode,
    exchange,
    get_nonce,
    logged_in,
    post_form,
    provider,
    register,
    resident,
    run_flow,
    token_request,
)

__all__ = ["provider"]


def _userinfo(rp, access_token):  # type: ignore[no-untyped-def]
    return HttpClient().get(
        "/oidc/userinfo",
        headers={
            "Authorization": "DPoP " + access_token,
            "DPoP": rp.proof("GET", ISSUER + "/oidc/userinfo", access_token=access_token),
        },
    )


def test_it_code_reuse_is_refused_and_revokes_the_tokens(provider: None) -> None:
    rp, _ = register()
    flow = run_flow(rp, logged_in(resident()))
    first = exchange(flow)
    assert first.status_code == 200
    access_token = first.json()["access_token"]
    assert _userinfo(rp, access_token).status_code == 200
    second = exchange(flow)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    revoked = _userinfo(rp, access_token)
    assert revoked.status_code == 401
    assert 'error="invalid_token"' in revoked["WWW-Authenticate"]
    refreshed = token_request(
        HttpClient(), rp, {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]}
    )
    assert refreshed.json()["error"] == "invalid_grant"


def test_it_an_expired_code_is_refused(provider: None) -> None:
    rp, _ = register()
    flow = run_flow(rp, logged_in(resident()))
    Grant.objects.update(code_expires_at=timezone.now() - timedelta(seconds=1))
    assert exchange(flow).json()["error"] == "invalid_grant"


def test_it_codes_live_at_most_60_seconds(provider: None) -> None:
    rp, _ = register()
    run_flow(rp, logged_in(resident()))
    grant = Grant.objects.get()
    assert grant.code_expires_at - grant.created_at <= timedelta(seconds=60)


def test_it_a_pkce_mismatch_is_refused(provider: None) -> None:
    rp, _ = register()
    flow = run_flow(rp, logged_in(resident()))
    response = exchange(flow, code_verifier="x" * 64)
    assert response.json()["error"] == "invalid_grant"


def test_it_a_missing_verifier_is_refused(provider: None) -> None:
    rp, _ = register()
    flow = run_flow(rp, logged_in(resident()))
    form = {"grant_type": "authorization_code", "code": flow.code, "redirect_uri": rp.redirect_uri}
    assert token_request(HttpClient(), rp, form).json()["error"] == "invalid_grant"


def test_it_another_redirect_uri_is_refused(provider: None) -> None:
    rp, _ = register()
    flow = run_flow(rp, logged_in(resident()))
    assert exchange(flow, redirect_uri="https://city.example/other").json()["error"] == "invalid_grant"


def test_it_a_replayed_client_assertion_is_refused(provider: None) -> None:
    rp, _ = register()
    flow = run_flow(rp, logged_in(resident()))
    auth = rp.auth()
    form = {"grant_type": "authorization_code", "code": flow.code, "redirect_uri": rp.redirect_uri,
            "code_verifier": flow.pkce.verifier}  # fmt: skip
    assert token_request(HttpClient(), rp, form, auth=auth).status_code == 200
    replayed = token_request(HttpClient(), rp, {"grant_type": "refresh_token", "refresh_token": "x"}, auth=auth)
    assert replayed.status_code == 401
    assert replayed.json()["error"] == "invalid_client"


def test_it_an_alg_none_assertion_is_refused(provider: None) -> None:
    rp, _ = register()
    flow = run_flow(rp, logged_in(resident()))
    claims = json.loads(json.dumps({"iss": rp.client_id, "sub": rp.client_id, "aud": ISSUER, "exp": 9999999999,
                                    "jti": "none-1"}))  # fmt: skip
    unsigned = b64url(b'{"alg":"none"}') + "." + b64url(json.dumps(claims).encode()) + "."
    auth = {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": unsigned}  # fmt: skip
    form = {"grant_type": "authorization_code", "code": flow.code, "redirect_uri": rp.redirect_uri,
            "code_verifier": flow.pkce.verifier}  # fmt: skip
    response = token_request(HttpClient(), rp, form, auth=auth)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_it_an_assertion_for_another_audience_is_refused(provider: None) -> None:
    rp, _ = register()
    response = token_request(
        HttpClient(), rp, {"grant_type": "refresh_token", "refresh_token": "x"}, auth=rp.auth(aud="https://else")
    )
    assert response.json()["error"] == "invalid_client"


def test_it_an_assertions_aud_must_be_exactly_the_issuer_string(provider: None) -> None:
    """FAPI 2.0 §5.3.2.1, draft-ietf-oauth-rfc7523bis: an array or an endpoint URL is refused, even one with the
    issuer in it (an assertion made for another server that lists ours could be replayed here)."""
    rp, _ = register()
    refused = [
        ["https://evil.example", ISSUER],
        [ISSUER],
        ISSUER + "/oidc/token",
        ISSUER + "/oidc/par",
        ISSUER + "/",
    ]
    for aud in refused:
        response = post_form(HttpClient(), "/oidc/par", {"client_id": rp.client_id, **rp.auth(aud=aud)})
        assert response.status_code == 401, aud
        assert response.json()["error"] == "invalid_client", aud
        token = token_request(HttpClient(), rp, {"grant_type": "refresh_token", "refresh_token": "x"},
                              auth=rp.auth(aud=aud))  # fmt: skip
        assert token.status_code == 401, aud
        assert token.json()["error"] == "invalid_client", aud
    get_nonce(HttpClient(), rp)
    accepted = token_request(HttpClient(), rp, {"grant_type": "refresh_token", "refresh_token": "x"})
    assert accepted.json()["error"] == "invalid_grant"  # authenticated; the refresh token itself is unknown


def test_it_an_expired_or_long_lived_assertion_is_refused(provider: None) -> None:
    import time

    rp, _ = register()
    form = {"grant_type": "refresh_token", "refresh_token": "x"}
    expired = token_request(HttpClient(), rp, form, auth=rp.auth(exp=int(time.time()) - 60))
    long_lived = token_request(HttpClient(), rp, form, auth=rp.auth(exp=int(time.time()) + 3600))
    assert expired.json()["error"] == long_lived.json()["error"] == "invalid_client"


def test_it_an_assertion_signed_by_another_key_is_refused(provider: None) -> None:
    from joserfc.jwk import ECKey

    rp, _ = register()
    rp.key = ECKey.generate_key("P-256")
    response = token_request(HttpClient(), rp, {"grant_type": "refresh_token", "refresh_token": "x"})
    assert response.json()["error"] == "invalid_client"


def test_it_an_unknown_client_is_refused(provider: None) -> None:
    from .oidc_support import RelyingParty

    stranger = RelyingParty("nobody", "https://nobody.example/cb")
    response = token_request(HttpClient(), stranger, {"grant_type": "refresh_token", "refresh_token": "x"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_it_an_unknown_grant_type_is_refused(provider: None) -> None:
    rp, _ = register()
    get_nonce(HttpClient(), rp)
    response = token_request(HttpClient(), rp, {"grant_type": "password"})
    assert response.json()["error"] == "unsupported_grant_type"


def test_it_client_secret_basic_works_for_simple_clients(provider: None) -> None:
    import base64

    rp, _ = register("library", redirect_uri="https://library.example/cb", profile="simple",
                     auth_method="client_secret_basic", require_dpop=False)  # fmt: skip
    flow = run_flow(rp, logged_in(resident()))
    basic = base64.b64encode(f"library:{rp.secret}".encode()).decode()
    form = {"grant_type": "authorization_code", "code": flow.code, "redirect_uri": rp.redirect_uri,
            "code_verifier": flow.pkce.verifier}  # fmt: skip
    from .oidc_support import post_form

    wrong = base64.b64encode(b"library:wrong").decode()
    assert post_form(HttpClient(), "/oidc/token", form, {"Authorization": "Basic " + wrong}).status_code == 401
    response = post_form(HttpClient(), "/oidc/token", form, {"Authorization": "Basic " + basic})
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer"


def test_it_fapi_clients_cannot_register_with_a_secret(provider: None) -> None:
    import pytest

    from anchorid.idp.oidc.clients import RegistrationError

    with pytest.raises(RegistrationError):
        register("bad", auth_method="client_secret_basic")


def test_it_refresh_rotates_and_detects_reuse_for_public_clients(provider: None) -> None:
    rp, _ = register("app", redirect_uri="https://app.example/cb", profile="simple", auth_method="none")
    flow = run_flow(rp, logged_in(resident()))
    public = {"client_id": "app"}
    form = {"grant_type": "authorization_code", "code": flow.code, "redirect_uri": rp.redirect_uri,
            "code_verifier": flow.pkce.verifier}  # fmt: skip
    first = token_request(HttpClient(), rp, form, auth=public).json()
    second = token_request(
        HttpClient(), rp, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth=public
    )
    assert second.status_code == 200, second.content
    assert second.json()["refresh_token"] != first["refresh_token"]
    reused = token_request(
        HttpClient(), rp, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth=public
    )
    assert reused.json()["error"] == "invalid_grant"
    after = token_request(
        HttpClient(), rp, {"grant_type": "refresh_token", "refresh_token": second.json()["refresh_token"]}, auth=public
    )
    assert after.json()["error"] == "invalid_grant"  # the whole grant was revoked
    assert Grant.objects.get().revoked_reason == "refresh_reuse"


def test_it_a_public_clients_refresh_needs_the_same_dpop_key(provider: None) -> None:
    from joserfc.jwk import ECKey

    rp, _ = register("app", redirect_uri="https://app.example/cb", profile="simple", auth_method="none")
    flow = run_flow(rp, logged_in(resident()))
    form = {"grant_type": "authorization_code", "code": flow.code, "redirect_uri": rp.redirect_uri,
            "code_verifier": flow.pkce.verifier}  # fmt: skip
    tokens = token_request(HttpClient(), rp, form, auth={"client_id": "app"}).json()
    other_key = rp.proof("POST", ISSUER + "/oidc/token", key=ECKey.generate_key("P-256"))
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    response = token_request(HttpClient(), rp, form, auth={"client_id": "app"}, proof=other_key)
    assert response.json()["error"] == "invalid_dpop_proof"


def test_it_confidential_clients_keep_their_refresh_token(provider: None) -> None:
    rp, _ = register()
    tokens = exchange(run_flow(rp, logged_in(resident()))).json()
    again = token_request(HttpClient(), rp, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert again.status_code == 200, again.content
    assert again.json()["refresh_token"] == tokens["refresh_token"]
    assert again.json()["access_token"] != tokens["access_token"]


def test_it_rotates_confidential_clients_refresh_tokens_when_configured(provider: None, settings) -> None:  # type: ignore[no-untyped-def]
    """ANCHORID_OIDC_REFRESH_ROTATION=all: a confidential client's refresh token rotates too, and an old one
    presented again revokes the grant (RFC 9700 §4.14.2), as for public clients."""
    settings.ANCHORID_OIDC_REFRESH_ROTATION = "all"
    rp, _ = register()
    tokens = exchange(run_flow(rp, logged_in(resident()))).json()
    again = token_request(HttpClient(), rp, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert again.status_code == 200, again.content
    assert again.json()["refresh_token"] != tokens["refresh_token"]
    reused = token_request(HttpClient(), rp, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert reused.json()["error"] == "invalid_grant"
    assert Grant.objects.get().revoked_reason == "refresh_reuse"


def test_it_an_id_token_issued_on_refresh_carries_no_nonce(provider: None) -> None:
    """OIDC Core §12.2: the ID token of a refresh response SHOULD NOT contain a nonce."""
    rp, _ = register()
    tokens = exchange(run_flow(rp, logged_in(resident()), nonce="n-original")).json()
    assert decode(tokens["id_token"])["nonce"] == "n-original"
    again = token_request(HttpClient(), rp, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert again.status_code == 200, again.content
    refreshed = decode(again.json()["id_token"])
    assert "nonce" not in refreshed
    assert refreshed["sub"] == decode(tokens["id_token"])["sub"]
