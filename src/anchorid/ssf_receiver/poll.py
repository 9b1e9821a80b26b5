"""The poll client (RFC 8936): ask the transmitter for SETs, take each, acknowledge or report it in the next request.

- §2.4: the request is ``{"maxEvents": N, "returnImmediately": bool, "ack": [jti …], "setErrs": {jti: {"err",
  "description"}}}``; the response ``{"sets": {jti: SET}, "moreAvailable": bool}``.
- Every SET goes through the same verification and exactly-once recording as a push (``Receiver.receive``); a
  refused SET is reported in ``setErrs`` with its RFC 8935 code, a taken one (applied or a retransmission) is
  acknowledged. When the transmitter's keys cannot be fetched the SET is neither: it will come again.
- The loop ends when the transmitter has nothing more; the last acknowledgements go with ``maxEvents: 0`` (§2.4.2:
  acknowledge without asking for more).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from anchorid.ssf_receiver.errors import INVALID_REQUEST, SetError, TransmitterUnavailable
from anchorid.ssf_receiver.models import ReceivedSet
from anchorid.ssf_receiver.receive import Outcome, Receiver
from anchorid.ssf_receiver.streams import StreamClient, StreamError

MAX_ROUNDS = 1000


@dataclass
class PollResult:
    applied: int = 0
    duplicates: int = 0
    refused: dict[str, str] = field(default_factory=dict)
    unavailable: int = 0


def poll(receiver: Receiver, client: StreamClient, endpoint: str, *, max_events: int = 100) -> PollResult:
    """Poll ``endpoint`` until the transmitter has nothing more for ``receiver``."""
    result = PollResult()
    ack: list[str] = []
    errors: dict[str, dict[str, str]] = {}
    for _ in range(MAX_ROUNDS):
        body: dict[str, Any] = {"maxEvents": max_events, "returnImmediately": True, "ack": ack, "setErrs": errors}
        answer = client.call("POST", endpoint, body=body, expect=(200,))
        ack, errors = [], {}
        if not isinstance(answer, dict) or not isinstance(answer.get("sets"), dict):
            raise StreamError(502, "the poll response has no sets")
        for jti, token in answer["sets"].items():
            try:
                if not isinstance(token, str):
                    raise SetError(INVALID_REQUEST, "a SET is a string")
                event = receiver.verify(token)
                if event.jti != jti:
                    raise SetError(INVALID_REQUEST, "the SET's jti is not the one it was listed under")
                receipt = receiver.record_and_apply(event, via=ReceivedSet.Via.POLL)
            except SetError as error:
                errors[jti] = error.as_json()
                result.refused[jti] = error.err
                continue
            except TransmitterUnavailable:
                result.unavailable += 1
                continue
            ack.append(jti)
            if receipt.outcome is Outcome.APPLIED:
                result.applied += 1
            else:
                result.duplicates += 1
        if not answer.get("moreAvailable") or not answer["sets"] or result.unavailable:
            break
    if ack or errors:
        client.call("POST", endpoint, body={"maxEvents": 0, "returnImmediately": True, "ack": ack, "setErrs": errors},
                    expect=(200,))  # fmt: skip
    return result
