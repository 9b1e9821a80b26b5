"""How command APDUs reach a card: the in-process emulator, or a PC/SC reader through pyscard.

Both answer raw response APDUs (data + SW1 SW2). The PC/SC path is the one a real My Number Card in a
contact or contactless reader takes, and the one the virtual card takes when served to pcscd through
vsmartcard-vpcd (anchorid.jpki.vpcd): the client cannot tell them apart.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from anchorid.jpki import apdu
from anchorid.jpki.cardfile import CardFile
from anchorid.jpki.emulator import JPKICardEmulator
from anchorid.jpki.errors import CardError, CardNotPresent

MAX_GET_RESPONSE_ROUNDS = 64  # 64 x 256 bytes: far beyond any JPKI response


class Transport(Protocol):
    def transmit(self, command: bytes) -> bytes:
        """Send one command APDU, return the response APDU (data + SW1 SW2)."""
        ...

    def close(self) -> None: ...


class _ClosingContext:
    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


class EmulatorTransport(_ClosingContext):
    """A virtual card in this process: loads the card file (:class:`CardNotPresent` if there is none)."""

    def __init__(self, card_path: Path | str) -> None:
        self.emulator = JPKICardEmulator(CardFile.load(Path(card_path)))
        self.atr = self.emulator.reset()

    def transmit(self, command: bytes) -> bytes:
        return self.emulator.transmit(command)

    def close(self) -> None:
        self.emulator.reset()


#: What to install when pyscard is missing (it is an extra: a server install needs no C compiler).
PYSCARD_EXTRA_HINT = "install the card extra: pip install 'anchorid[card]' (or uv sync --extra card)"


class PyscardMissing(CardNotPresent):
    """PC/SC readers were asked for, but pyscard (the ``anchorid[card]`` extra) is not installed."""


def require_pyscard() -> None:
    """Import pyscard only when a PC/SC reader is used; without it, a clear error naming the extra."""
    try:
        import smartcard  # noqa: F401
    except ImportError:
        raise PyscardMissing(f"PC/SC card readers need pyscard, which is not installed: {PYSCARD_EXTRA_HINT}") from None


class PcscTransport(_ClosingContext):
    """A card in a PC/SC reader (pcscd on Linux). ``reader`` is a reader name or a part of one.

    Without a name, the first reader holding a card is used. No reader, no card, or pcscd not running:
    :class:`CardNotPresent`.
    """

    def __init__(self, reader: str | None = None) -> None:
        require_pyscard()
        from smartcard.Exceptions import CardConnectionException, NoCardException, SmartcardException
        from smartcard.pcsc.PCSCExceptions import BaseSCardException
        from smartcard.System import readers

        try:
            available = readers()
        except (BaseSCardException, SmartcardException) as exc:
            raise CardNotPresent(f"PC/SC is not available (is pcscd running?): {exc}") from None
        candidates = [r for r in available if reader is None or reader == str(r)] or [
            r for r in available if reader is not None and reader in str(r)
        ]
        if not candidates:
            names = ", ".join(str(r) for r in available) or "none"
            raise CardNotPresent(f"no PC/SC reader {reader!r} (readers: {names})" if reader else "no PC/SC reader")
        self._connection: Any = None
        for candidate in candidates:
            connection = candidate.createConnection()
            try:
                connection.connect()
            except (NoCardException, CardConnectionException):
                continue
            self._connection, self.reader = connection, str(candidate)
            break
        if self._connection is None:
            raise CardNotPresent("no card in " + ", ".join(str(r) for r in candidates))
        self.atr = bytes(self._connection.getATR())

    def _exchange(self, command: bytes) -> tuple[bytes, int, int]:
        from smartcard.Exceptions import CardConnectionException

        try:
            data, sw1, sw2 = self._connection.transmit(list(command))
        except CardConnectionException as exc:
            raise CardNotPresent(f"the card stopped answering: {exc}") from None
        return bytes(data), sw1, sw2

    def transmit(self, command: bytes) -> bytes:
        """Send a command; follow ``61xx`` with GET RESPONSE and ``6Cxx`` with the Le the card asks for."""
        data, sw1, sw2 = self._exchange(command)
        if sw1 == apdu.SW1_WRONG_LE:
            corrected = dataclasses.replace(apdu.CommandAPDU.parse(command), le=sw2 or apdu.SHORT_APDU_MAX_LE)
            data, sw1, sw2 = self._exchange(corrected.to_bytes())
        collected = data
        for _ in range(MAX_GET_RESPONSE_ROUNDS):
            if sw1 != apdu.SW1_RESPONSE_BYTES_AVAILABLE:
                return collected + bytes((sw1, sw2))
            data, sw1, sw2 = self._exchange(apdu.get_response(sw2).to_bytes())
            collected += data
        raise CardError("the card keeps announcing more response bytes")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.disconnect()
            self._connection = None


__all__ = ["EmulatorTransport", "PcscTransport", "Transport"]
