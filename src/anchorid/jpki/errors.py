"""Typed errors of the card client. Each says what happened in words a resident can act on."""

from __future__ import annotations


class CardError(Exception):
    """Base class for everything the card or its transport can answer with."""


class CardNotPresent(CardError):
    """No card in the reader, no reader, or the card file does not exist."""


class WrongPin(CardError):
    """The PIN was wrong; ``tries_left`` more attempts before the PIN blocks."""

    def __init__(self, tries_left: int) -> None:
        super().__init__(f"wrong PIN: {tries_left} tries left")
        self.tries_left = tries_left


class PinBlocked(CardError):
    """The PIN is blocked; only the city counter can reset it."""

    def __init__(self) -> None:
        super().__init__("PIN blocked: reset it at the city counter")


class UnexpectedStatus(CardError):
    """The card answered a status word the client did not expect."""

    def __init__(self, sw: int, context: str = "") -> None:
        where = f" ({context})" if context else ""
        super().__init__(f"unexpected status word {sw:04X}{where}")
        self.sw = sw


class CardFileCorrupt(CardError):
    """The virtual card's state file exists but cannot be read as a card (never silently repaired)."""


class CertificateNotPresent(CardError):
    """The card holds no such certificate (e.g. no signature certificate for a resident under 15)."""


class InvalidPinFormat(CardError, ValueError):
    """A new PIN breaks the card's rules (signature: 6-16 of A-Z0-9; user authentication: 4 digits)."""


class PinNotSet(CardError):
    """The card has no such PIN yet: a blank card that was never personalised at the counter."""
