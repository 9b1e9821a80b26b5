"""The userinfo request's cheaper checks stay exact: ES256 verified without joserfc's general path (same refusals),
DPoP keys and verified access tokens remembered per process (never past a change of the provider's keys), and the
statements a request sends pinned."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from django.test import Client as HttpClient
from joserfc.jwk import ECKey

from anchorid.idp.oidc import dpop, jose, jwks
from anchorid.idp.oidc.models import Grant, SigningKey

from .oidc_support import ISSUER, b64url, exchange, logged_in, pinned_statements, provider, register, resident, run_flow

__all__ = ["provider"]

USERINFO_URL = ISSUER + "/oidc/userinfo"
USERINFO_STATEMENTS = 2  # the grant with its account; the proof's jti (oidc_support.PERIODIC_STATEMENTS aside)


def _tokens(rp):  # type: ignore[no-untyped-def]
    return exchange(run_flow(rp, logged_in(resident()))).json()


def _userinfo(access_token: str, proof: str) -> Any:
    return HttpClient().get("/oidc/userinfo", headers={"Authorization": f"DPoP {access_token}", "DPoP": proof})


def test_it_answers_userinfo_within_a_pinned_number_of_sql_statements(provider: None) -> None:
    rp, _ = register()
    access = _tokens(rp)["access_token"]
    assert _userinfo(access, rp.proof("GET", USERINFO_URL, access_token=access)).status_code == 200
    with pinned_statements(USERINFO_STATEMENTS):
        response = _userinfo(access, rp.proof("GET", USERINFO_URL, access_token=access))
    assert response.status_code == 200
    assert response.json()["name"] == "鎌倉　花子"


def test_it_refuses_a_replayed_proof_at_userinfo(provider: None) -> None:
    rp, _ = register()
    access = _tokens(rp)["access_token"]
    proof = rp.proof("GET", USERINFO_URL, access_token=access)
    assert _userinfo(access, proof).status_code == 200
    again = _userinfo(access, proof)
    assert again.status_code == 401
    assert 'error="invalid_dpop_proof"' in again["WWW-Authenticate"]


def test_it_refuses_a_remembered_access_token_once_its_grant_is_revoked(provider: None) -> None:
    rp, _ = register()
    access = _tokens(rp)["access_token"]
    assert _userinfo(access, rp.proof("GET", USERINFO_URL, access_token=access)).status_code == 200
    Grant.objects.update(revoked_at="2026-01-01T00:00:00Z")
    refused = _userinfo(access, rp.proof("GET", USERINFO_URL, access_token=access))
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused["WWW-Authenticate"]


def test_it_forgets_verified_access_tokens_when_the_signing_keys_change(provider: None) -> None:
    rp, _ = register()
    access = _tokens(rp)["access_token"]
    assert _userinfo(access, rp.proof("GET", USERINFO_URL, access_token=access)).status_code == 200
    kid = json.loads(jose.b64url_decode(access.split(".")[0]))["kid"]
    SigningKey.objects.filter(kid=kid).delete()  # withdrawn (e.g. a compromised key), announced to every process
    jwks.GENERATION.bump()
    jwks.GENERATION.forget()
    refused = _userinfo(access, rp.proof("GET", USERINFO_URL, access_token=access))
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused["WWW-Authenticate"]


def _proof_parts(rp, access: str, **header: Any) -> list[str]:  # type: ignore[no-untyped-def]
    claims = {"jti": "p-" + str(time.time_ns()), "htm": "GET", "htu": USERINFO_URL, "iat": int(time.time()),
              "nonce": rp.nonce, "ath": b64url(hashlib.sha256(access.encode()).digest())}  # fmt: skip
    head = {"typ": "dpop+jwt", "alg": "ES256", "jwk": rp.dpop_key.as_dict(private=False), **header}
    signing_input = b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(claims).encode())
    r, s = decode_dss_signature(rp.dpop_key.raw_value.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return [*signing_input.split("."), b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))]


@pytest.mark.parametrize(
    "damage",
    [
        lambda parts: [parts[0], parts[1], parts[2] + "="],  # padding: not base64url as JWS uses it
        lambda parts: [parts[0], parts[1], parts[2][:-2] + "+/"],  # base64, not base64url
        lambda parts: [parts[0], parts[1], parts[2] + "AA"],  # 65 bytes, not r || s
        lambda parts: [parts[0], parts[1] + "AA", parts[2]],  # the payload changed after signing
        lambda parts: [parts[0] + "=", parts[1], parts[2]],  # a padded header
    ],
)
def test_it_refuses_what_joserfc_refuses_on_the_es256_fast_path(provider: None, damage: Any) -> None:
    rp, _ = register()
    access = _tokens(rp)["access_token"]
    proof = ".".join(damage(_proof_parts(rp, access)))
    with pytest.raises(dpop.DPoPError):
        dpop.verify_proof(proof, method="GET", uri=USERINFO_URL, access_token=access, status=401)
    assert _userinfo(access, proof).status_code == 401


def test_it_verifies_a_proof_with_other_header_members_through_joserfc(provider: None) -> None:
    rp, _ = register()
    access = _tokens(rp)["access_token"]
    fine = ".".join(_proof_parts(rp, access, cty="JWT"))  # not on the fast path: joserfc's checks, same answer
    assert _userinfo(access, fine).status_code == 200
    wrong_type = ".".join(_proof_parts(rp, access, kid=7))  # joserfc's header registry: kid must be a string
    assert _userinfo(access, wrong_type).status_code == 401


def test_it_remembers_a_dpop_key_with_its_thumbprint_and_refuses_the_same_bad_keys() -> None:
    key = ECKey.generate_key("P-256")
    public = key.as_dict(private=False)
    first, thumbprint = jose.import_proof_jwk(public)
    again, same = jose.import_proof_jwk(dict(public))
    assert again is first
    assert same == thumbprint == key.thumbprint()
    off_curve = {**public, "y": public["x"]}
    for bad in (off_curve, key.as_dict(private=True), {**public, "crv": "P-384"}):
        with pytest.raises(jose.InvalidJws):
            jose.import_proof_jwk(bad)
