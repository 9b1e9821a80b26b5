"""The receiver's side of SSF stream management (SSF 1.0 §8): a token, then its one stream at the transmitter.

- The token: OAuth 2.0 client_credentials (RFC 6749 §4.4) at the idp's token endpoint, the client authenticating
  with private_key_jwt and proving possession of its DPoP key (the same Authlib session and keys as its
  "login with AnchorID", ``anchorid.common.rp``), scopes ``ssf.manage ssf.read``.
- §8.1.1: ``GET configuration_endpoint`` lists the client's streams; ``POST`` creates one (201), ``PATCH`` with its
  ``stream_id`` changes it. ``ensure_stream`` makes the stream what the receiver wants: push to its endpoint with
  its authorization header (RFC 8935), or poll (RFC 8936), for the events it handles.
- §8.1.4: ``POST verification_endpoint`` asks the transmitter for a verification event carrying our ``state``.

Errors come back as ``StreamError`` with the HTTP status and the transmitter's error text.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests

from anchorid.common import untrusted_json
from anchorid.common.rp.client import PRIVATE_KEY_JWT, AnchorIDClient, DPoPOAuth2Session
from anchorid.ssf_receiver.transmitter import Transmitter

PUSH = "urn:ietf:rfc:8935"
POLL = "urn:ietf:rfc:8936"
SCOPES = "ssf.manage ssf.read"
#: Renew the token this many seconds before it expires.
TOKEN_MARGIN = 30


class StreamError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Delivery:
    """What the receiver wants: push to ``endpoint_url`` (with ``authorization_header``), or poll."""

    method: str
    endpoint_url: str = ""
    authorization_header: str = ""

    def as_json(self) -> dict[str, str]:
        delivery = {"method": self.method}
        if self.method == PUSH:
            delivery["endpoint_url"] = self.endpoint_url
            if self.authorization_header:
                delivery["authorization_header"] = self.authorization_header
        return delivery


class StreamClient:
    """One receiver managing its stream at one transmitter, as the OAuth client ``rp``."""

    def __init__(self, rp: AnchorIDClient, transmitter: Transmitter) -> None:
        self.rp = rp
        self.transmitter = transmitter
        self._session: DPoPOAuth2Session | None = None
        self._expires_at = 0.0

    def session(self) -> DPoPOAuth2Session:
        """An Authlib session holding a fresh client_credentials token (DPoP-bound when the idp binds it)."""
        if self._session is None or time.time() > self._expires_at - TOKEN_MARGIN:
            session = self.rp.oauth_session()
            try:
                token = session.fetch_token(
                    self.rp.metadata["token_endpoint"],
                    grant_type="client_credentials",
                    scope=SCOPES,
                    auth=session.client_auth(PRIVATE_KEY_JWT),
                )
            except requests.RequestException as error:
                raise StreamError(503, f"the idp could not be reached ({type(error).__name__}: {error})") from error
            except Exception as error:  # Authlib's OAuthError carries the token endpoint's error code
                code = getattr(error, "error", None)
                if not isinstance(code, str):
                    raise
                raise StreamError(400, f"token: {code} {getattr(error, 'description', '') or ''}".strip()) from error
            self._session = session
            self._expires_at = time.time() + float(token.get("expires_in", 60))
        return self._session

    def call(self, method: str, url: str, *, body: Any = None, expect: tuple[int, ...] = (200,)) -> Any:
        try:
            response = self.session().request(method, url, json=body, headers={"Accept": "application/json"},
                                              timeout=10)  # fmt: skip
        except requests.RequestException as error:
            raise StreamError(503, f"{url} could not be reached") from error
        if response.status_code not in expect:
            raise StreamError(response.status_code, response.text[:300])
        if response.status_code == 204 or not response.content:
            return None
        return untrusted_json.loads(response.content)

    def streams(self) -> list[dict[str, Any]]:
        found = self.call("GET", self.transmitter.endpoint("configuration_endpoint"))
        if isinstance(found, dict):
            return [found]
        return list(found or [])

    def ensure_stream(self, delivery: Delivery, events: list[str], description: str = "") -> dict[str, Any]:
        """Create the stream, or change the existing one to ``delivery`` and ``events``; the transmitter's answer."""
        endpoint = self.transmitter.endpoint("configuration_endpoint")
        wanted: dict[str, Any] = {"delivery": delivery.as_json(), "events_requested": events}
        if description:
            wanted["description"] = description
        existing = self.streams()
        if not existing:
            created: dict[str, Any] = self.call("POST", endpoint, body=wanted, expect=(200, 201))
            return created
        changed: dict[str, Any] = self.call(
            "PATCH", endpoint, body={"stream_id": existing[0]["stream_id"], **wanted}, expect=(200,)
        )
        return changed

    def request_verification(self, stream_id: str, state: str) -> None:
        self.call("POST", self.transmitter.endpoint("verification_endpoint"),
                  body={"stream_id": stream_id, "state": state}, expect=(200, 202, 204))  # fmt: skip
