"""Event types a receiver of AnchorID understands (CAEP 1.0, RISC 1.0, SSF 1.0) and their payload checks.

A receiver's handler dispatches on ``SecurityEvent.event_type``; an event whose payload does not conform to its
type's definition is refused with ``invalid_request`` (RFC 8935 §2.4), nothing applied.
"""

from __future__ import annotations

from typing import Any

# The event types are shared with the idp's transmitter (anchorid.common.secevent_types); re-exported here.
from anchorid.common.secevent_types import ACCOUNT_DISABLED as ACCOUNT_DISABLED
from anchorid.common.secevent_types import ACCOUNT_ENABLED as ACCOUNT_ENABLED
from anchorid.common.secevent_types import CLAIMS_CHANGE as CLAIMS_CHANGE
from anchorid.common.secevent_types import CREDENTIAL_CHANGE as CREDENTIAL_CHANGE
from anchorid.common.secevent_types import SESSION_REVOKED as SESSION_REVOKED
from anchorid.common.secevent_types import STREAM_UPDATED as STREAM_UPDATED
from anchorid.common.secevent_types import VERIFICATION as VERIFICATION
from anchorid.ssf_receiver.errors import INVALID_REQUEST, SetError
from anchorid.ssf_receiver.verify import SecurityEvent

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
