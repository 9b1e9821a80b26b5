"""Taking a SET: verify it, record its jti and apply its event, the last two in one database transaction.

At-least-once delivery, exactly-once effect:

- the jti row (``ReceivedSet``, unique per receiver, issuer and jti) and the handler's changes commit together or
  not at all; a handler that raises leaves nothing behind, and the transmitter will send the SET again;
- a byte-identical retransmission of a SET already taken (same SHA-256) is accepted again — the transmitter did not
  hear our 202 — and not applied again;
- a different SET reusing a jti already taken is refused (``invalid_request``), nothing applied;
- two deliveries of one SET at the same moment (two transmitter workers, a push racing a poll) meet at the unique
  constraint: one applies it, the other finds the row on its second look.

The handler gets the verified ``SecurityEvent`` and returns a short note of what it did ("address updated",
"unknown subject: ignored"), stored with the jti; it may raise ``SetError`` to refuse an event whose content does
not conform (RFC 8935 ``invalid_request``).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from anchorid.ssf_receiver.errors import INVALID_REQUEST, SetError
from anchorid.ssf_receiver.models import ReceivedSet
from anchorid.ssf_receiver.transmitter import Transmitter, transmitter_for
from anchorid.ssf_receiver.verify import KeyLookup, ReceiverConfig, SecurityEvent, verify_set

Handler = Callable[[SecurityEvent], str]


class Outcome(enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Receipt:
    outcome: Outcome
    jti: str
    note: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


class Receiver:
    """One receiver: whom it trusts (``config``), what an event does (``handler``), where keys come from."""

    def __init__(self, config: ReceiverConfig, handler: Handler, *, key_for: KeyLookup | None = None) -> None:
        self.config = config
        self.handler = handler
        self._key_for = key_for

    @property
    def transmitter(self) -> Transmitter:
        return transmitter_for(self.config.issuer)

    def verify(self, token: str) -> SecurityEvent:
        """Verify ``token`` (nothing recorded); raises ``SetError`` or ``TransmitterUnavailable``."""
        return verify_set(token, self.config, self._key_for or self.transmitter.key)

    def receive(self, token: str, *, via: str = ReceivedSet.Via.PUSH) -> Receipt:
        """Verify, record and apply ``token``; raises ``SetError`` or ``TransmitterUnavailable``."""
        return self.record_and_apply(self.verify(token), via=via)

    def record_and_apply(self, event: SecurityEvent, *, via: str) -> Receipt:
        fingerprint = digest(event.token)
        for _ in range(2):
            try:
                with transaction.atomic():
                    known = ReceivedSet.objects.filter(
                        receiver=self.config.name, issuer=event.issuer, jti=event.jti
                    ).first()
                    if known is not None:
                        return self._again(known, fingerprint)
                    row = ReceivedSet.objects.create(
                        receiver=self.config.name,
                        issuer=event.issuer,
                        jti=event.jti,
                        digest=fingerprint,
                        event_type=event.event_type,
                        txn=event.txn,
                        sub=event.sub[:255],
                        via=via,
                        issued_at=dt.datetime.fromtimestamp(event.iat, tz=dt.UTC),
                    )
                    note = self.handler(event)
                    row.outcome = note[:255]
                    row.save(update_fields=["outcome"])
                    return Receipt(Outcome.APPLIED, event.jti, note)
            except IntegrityError:
                continue  # a concurrent delivery of this jti committed first: look again
        raise SetError(INVALID_REQUEST, "jti could not be recorded")

    @staticmethod
    def _again(known: ReceivedSet, fingerprint: str) -> Receipt:
        if known.digest != fingerprint:
            raise SetError(INVALID_REQUEST, "jti already used by another SET")
        return Receipt(Outcome.DUPLICATE, known.jti, known.outcome)
