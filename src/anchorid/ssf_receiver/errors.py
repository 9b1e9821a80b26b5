"""RFC 8935 §2.4 error codes, shared by push (the 400 response) and poll (RFC 8936 ``setErrs``).

The body of an error response is ``{"err": CODE, "description": TEXT}`` (RFC 8935 §2.3); the description is for
the transmitter's operator and never carries the event's content.
"""

from __future__ import annotations

#: The request body cannot be parsed as a SET, or the event does not conform to its definition.
INVALID_REQUEST = "invalid_request"
#: A key used to sign (or encrypt) the SET is invalid or not acceptable.
INVALID_KEY = "invalid_key"
#: The SET's issuer is not the one this receiver takes events from.
INVALID_ISSUER = "invalid_issuer"
#: The SET's audience is not this receiver.
INVALID_AUDIENCE = "invalid_audience"
#: The receiver could not authenticate the transmitter.
AUTHENTICATION_FAILED = "authentication_failed"
#: The transmitter may not send this SET to this receiver.
ACCESS_DENIED = "access_denied"

ERROR_CODES = (INVALID_REQUEST, INVALID_KEY, INVALID_ISSUER, INVALID_AUDIENCE, AUTHENTICATION_FAILED, ACCESS_DENIED)


class SetError(Exception):
    """A SET refused, with its RFC 8935 error code. Nothing was recorded or applied."""

    def __init__(self, err: str, description: str) -> None:
        assert err in ERROR_CODES, err
        super().__init__(f"{err}: {description}")
        self.err = err
        self.description = description

    def as_json(self) -> dict[str, str]:
        return {"err": self.err, "description": self.description}


class TransmitterUnavailable(Exception):
    """The transmitter's configuration or keys could not be fetched: the SET is neither accepted nor refused (the
    transmitter will retry)."""
