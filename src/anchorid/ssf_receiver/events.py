"""Event types a receiver of AnchorID understands (CAEP 1.0, RISC 1.0, SSF 1.0) and their payload checks.

A receiver's handler dispatches on ``SecurityEvent.event_type``; an event whose payload does not conform to its
type's definition is refused with ``invalid_request`` (RFC 8935 §2.4), nothing applied.
"""

from __future__ import annotations

from typing import Any

from anchorid.ssf_receiver.errors import INVALID_REQUEST, SetError
from anchorid.ssf_receiver.verify import SecurityEvent

CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"
SSF = "https://schemas.openid.net/secevent/ssf/event-type/"

CLAIMS_CHANGE = CAEP + "claims-change"
CREDENTIAL_CHANGE = CAEP + "credential-change"
SESSION_REVOKED = CAEP + "session-revoked"
ACCOUNT_DISABLED = RISC + "account-disabled"
ACCOUNT_ENABLED = RISC + "account-enabled"
VERIFICATION = SSF + "verification"
STREAM_UPDATED = SSF + "stream-updated"

#: What the sample providers and the city's departments ask their stream for.
RECEIVED_EVENTS = [CLAIMS_CHANGE, CREDENTIAL_CHANGE, SESSION_REVOKED, ACCOUNT_DISABLED, ACCOUNT_ENABLED]

ADDRESS_FIELDS = ("formatted", "street_address", "locality", "region", "postal_code", "country")


def changed_claims(event: SecurityEvent) -> dict[str, Any]:
    """CAEP claims-change: the ``claims`` object (claim names → new values); its subject is required."""
    claims = event.event.get("claims")
    if not isinstance(claims, dict) or not claims:
        raise SetError(INVALID_REQUEST, "a claims-change event carries a non-empty claims object")
    if not event.sub:
        raise SetError(INVALID_REQUEST, "a claims-change event needs an iss_sub subject")
    return claims


def changed_address(event: SecurityEvent) -> dict[str, str] | None:
    """The new OIDC address claim (Core §5.1.1) in a claims-change event, checked; None when the address is not
    among the changed claims."""
    claims = changed_claims(event)
    if "address" not in claims:
        return None
    address = claims["address"]
    if (
        not isinstance(address, dict)
        or not address
        or any(key not in ADDRESS_FIELDS or not isinstance(value, str) or len(value) > 500
               for key, value in address.items())
    ):  # fmt: skip
        raise SetError(INVALID_REQUEST, "the address claim is not an OIDC address object")
    return {str(key): str(value) for key, value in address.items()}


def verification_state(event: SecurityEvent) -> str:
    state = event.event.get("state", "")
    if not isinstance(state, str) or len(state) > 255:
        raise SetError(INVALID_REQUEST, "a verification event's state is a string")
    return state
