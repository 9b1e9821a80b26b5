"""Interop: panva's openid-client (npm, v6 — not ours) runs the whole FAPI 2.0 flow against a real idp process:
discovery → PAR (private_key_jwt, DPoP) → authorize (a logged-in resident, consent) → code → token
(private_key_jwt + DPoP, nonce retry) → ID token checks → userinfo → refresh (rotation and reuse
detection for a public client; FAPI 2.0's stable refresh token for a confidential one) → RP-initiated logout (the
idp session ends) → revocation (RFC 7009)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from .harness import SECOND_CLIENT_ID, SECOND_POST_LOGOUT_URI, SECOND_REDIRECT_URI, Browser, Parties


class NodeRelyingParty:
    """``node rp.mjs CONFIG``: one JSON line out, one in (see rp.mjs)."""

    def __init__(self, project: Path, config: Path) -> None:
        self.process = subprocess.Popen(
            ["node", str(project / "rp.mjs"), str(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=10)
            raise AssertionError(f"openid-client failed: {self.process.stderr.read() if self.process.stderr else ''}")
        message: dict[str, Any] = json.loads(line)
        return message

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


@pytest.mark.parametrize("kind", ["confidential", "public"])
def test_it_openid_client_runs_the_whole_flow(parties: Parties, node_project: Path, kind: str) -> None:
    """``confidential``: private_key_jwt, the FAPI profile. ``public``: no client authentication (simple profile)."""
    browser = Browser(parties.idp.url)
    browser.onboard(parties.adult_card())
    folder = "second-rp" if kind == "confidential" else "second-rp-public"
    rp = NodeRelyingParty(node_project, parties.idp.data.parent / folder / "config.json")
    try:
        pushed = rp.receive()
        authorize = urlsplit(pushed["authorize_url"])
        assert set(parse_qs(authorize.query)) == {"client_id", "request_uri"}  # PAR: nothing else in the URL
        assert parse_qs(authorize.query)["request_uri"][0].startswith("urn:ietf:params:oauth:request_uri:")

        # The resident consents, unticking one optional claim (birthdate).
        callback = browser.authorize(pushed["authorize_url"], SECOND_REDIRECT_URI, untick=frozenset({"birthdate"}))
        assert browser.consent_pages == 1
        assert parse_qs(urlsplit(callback).query)["iss"] == [parties.idp.url]  # RFC 9207
        rp.send({"callback_url": callback})

        result = rp.receive()
        assert result["token_type"].lower() == "dpop"  # openid-client lower-cases it
        claims = result["id_token_claims"]
        assert claims["iss"] == parties.idp.url
        client_id = SECOND_CLIENT_ID + ("-public" if kind == "public" else "")
        assert claims["aud"] == client_id or client_id in claims["aud"]
        userinfo = result["userinfo"]
        assert userinfo["sub"] == claims["sub"]
        assert userinfo["name"]
        assert "birthdate" not in userinfo  # deselected on the consent screen
        assert "gender" not in userinfo  # never asked for
        assert result["refreshed_token_type"].lower() == "dpop"
        assert result["refreshed_userinfo"] == userinfo
        if kind == "public":  # rotation with reuse detection (RFC 9700 §4.14.2)
            assert result["rotated"] is True
            assert result["first_refresh_token_again"] == "invalid_grant"
            assert result["rotated_after_reuse"] == "invalid_grant"  # the whole grant was revoked
        else:  # FAPI 2.0: a confidential client authenticates every refresh and keeps its refresh token
            assert result["rotated"] is False
            assert result["first_refresh_token_again"] == "ok"

        back = browser.logout(result["logout_url"], SECOND_POST_LOGOUT_URI)
        assert parse_qs(urlsplit(back).query)["state"] == [result["logout_state"]]
        assert browser.logged_out_at_idp()

        rp.send({"revoke": "refresh_token"})
        revoked = rp.receive()
        assert revoked["refresh_after_revocation"] == "invalid_grant"
        assert revoked["userinfo_after_revocation"] == "invalid_token"  # RFC 7009 §2: the grant's tokens go too
    finally:
        rp.close()
