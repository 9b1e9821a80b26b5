"""Event types and Security Event Tokens (RFC 8417) as profiled by SSF 1.0.

One event per SET. Each SET carries ``iss`` (the idp's OIDC issuer), ``aud`` (the receiving client's id), ``iat``,
``jti`` (128 random bits, URL-safe), ``txn`` (RFC 8417 §2.2: the same value in every SET caused by one change),
``sub_id`` (SSF 1.0 §3: top-level subject, format ``iss_sub`` with that client's pairwise ``sub``) and ``events``
with exactly one member. No ``exp`` and no ``sub`` (RFC 8417 §2.2/§3: a SET is not an access or ID token).
The JOSE header has ``typ: secevent+jwt`` (RFC 8417 §2.3) and the ``kid`` of the idp's current ES256 key, the
same key set the idp publishes at its ``jwks_uri``.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

# The event types are shared with the receivers (anchorid.common.secevent_types); re-exported here.
from anchorid.common.secevent_types import ACCOUNT_DISABLED as ACCOUNT_DISABLED
from anchorid.common.secevent_types import ACCOUNT_ENABLED as ACCOUNT_ENABLED
from anchorid.common.secevent_types import CLAIMS_CHANGE as CLAIMS_CHANGE
from anchorid.common.secevent_types import CREDENTIAL_CHANGE as CREDENTIAL_CHANGE
from anchorid.common.secevent_types import SESSION_REVOKED as SESSION_REVOKED
from anchorid.common.secevent_types import STREAM_UPDATED as STREAM_UPDATED
from anchorid.common.secevent_types import VERIFICATION as VERIFICATION
from anchorid.idp.oidc import config, jwks
from anchorid.idp.oidc.jose import b64url_decode

# What a stream may request; ``events_delivered`` is the stream's requested set intersected with this.
SUPPORTED_EVENTS = (
    CLAIMS_CHANGE,
    CREDENTIAL_CHANGE,
    SESSION_REVOKED,
    ACCOUNT_DISABLED,
    ACCOUNT_ENABLED,
)
# Sent whatever the stream requested (SSF 1.0 §8.1.4 verification; §8.1.5 stream updated).
ALWAYS_DELIVERED = (VERIFICATION, STREAM_UPDATED)

CREDENTIAL_TYPES = ("fido2-roaming", "fido2-platform", "x509")
CHANGE_TYPES = ("create", "revoke", "update", "delete")
INITIATING_ENTITIES = ("admin", "user", "policy", "system")
# RISC 1.0 account-disabled: the only reasons the spec defines; ours travel in reason_admin instead.
RISC_DISABLED_REASONS = ("hijacking", "bulk-account")

SET_TYP = "secevent+jwt"


def new_jti() -> str:
    return secrets.token_urlsafe(16)


def new_txn() -> str:
    return secrets.token_hex(16)


def subject(sub: str) -> dict[str, str]:
    """A subject identifier (RFC 9493 ``iss_sub``) for ``sub`` at this issuer."""
    return {"format": "iss_sub", "iss": config.issuer(), "sub": sub}


def set_payload(
    *, aud: str, jti: str, txn: str, sub_id: dict[str, Any] | None, event_type: str, event: dict[str, Any]
) -> dict[str, Any]:
    payload: dict[str, Any] = {"iss": config.issuer(), "aud": aud, "iat": int(time.time()), "jti": jti, "txn": txn}
    if sub_id is not None:
        payload["sub_id"] = sub_id
    payload["events"] = {event_type: event}
    return payload


def sign_set(payload: dict[str, Any]) -> str:
    """The compact SET, signed ES256 with the idp's current OIDC signing key."""
    return jwks.sign_token(payload, typ=SET_TYP, alg="ES256")


def published_kids() -> set[str]:
    return {str(key.get("kid")) for key in jwks.jwks_document()["keys"]}


def resigned_if_unpublished(token: str, kids: set[str]) -> str | None:
    """The same SET signed again with the current key when the key that signed ``token`` is no longer published
    (rotated out while the SET waited), else None. Same claims, same ``jti``: receivers that never accepted the
    first token accept this one; the outbox row keeps the new token so later resends are byte-identical again."""
    header_part, payload_part, _ = token.split(".")
    header = json.loads(b64url_decode(header_part))
    if header.get("kid") in kids:
        return None
    return sign_set(json.loads(b64url_decode(payload_part)))
