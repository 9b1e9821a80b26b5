"""Serve the emulated card to pcscd through vsmartcard's virtual reader driver (vpcd).

pcscd, with Debian's ``vsmartcard-vpcd`` driver, lists the readers ``Virtual PCD 00 00`` and
``Virtual PCD 00 01`` and listens on 127.0.0.1:35963 (and 35964) for a virtual card. The card connects,
and from then on any PC/SC application (pyscard, OpenSC, pcsc_scan) sees a card in that reader.

The vpcd protocol (vsmartcard ``virtualsmartcard/src/vpcd/vpcd.c`` and the reference vpicc
``virtualsmartcard/src/vpicc/virtualsmartcard/VirtualSmartcard.py``): every message in either direction
is a 2-byte big-endian length followed by that many bytes. A 1-byte message from vpcd is a control
command -- 00 power off, 01 power on, 02 reset, 04 "send your ATR" -- and only the last is answered (with
the ATR). pcscd polls for card presence with 04, so 04 must not reset the card's security status. A
longer message is a command APDU, answered with the response APDU.
"""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

from anchorid.jpki.cardfile import CardFile
from anchorid.jpki.emulator import JPKICardEmulator
from anchorid.jpki.errors import CardError

logger = logging.getLogger(__name__)

VPCD_DEFAULT_HOST = "127.0.0.1"
VPCD_DEFAULT_PORT = 35963  # reader "Virtual PCD 00 00"; 35964 is "Virtual PCD 00 01"
VPCD_READER_NAME = "Virtual PCD 00 00"

VPCD_LENGTH_BYTES = 2
VPCD_CONTROL_LENGTH = 1
VPCD_CTRL_OFF = 0x00
VPCD_CTRL_ON = 0x01
VPCD_CTRL_RESET = 0x02
VPCD_CTRL_ATR = 0x04

POLL_SECONDS = 0.2  # how often a served card checks whether it should stop


class VpcdUnavailable(CardError):
    """pcscd with the vpcd driver is not listening where the virtual card tries to connect."""


class _Disconnected(Exception):
    pass


def _receive_exactly(sock: socket.socket, count: int, stop: threading.Event) -> bytes:
    data = bytearray()
    while len(data) < count:
        if stop.is_set():
            raise _Disconnected
        try:
            chunk = sock.recv(count - len(data))
        except TimeoutError:
            continue
        if not chunk:
            raise _Disconnected
        data += chunk
    return bytes(data)


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(len(payload).to_bytes(VPCD_LENGTH_BYTES, "big") + payload)


def connect(host: str = VPCD_DEFAULT_HOST, port: int = VPCD_DEFAULT_PORT) -> socket.socket:
    """Open the card's connection to vpcd; :class:`VpcdUnavailable` if nothing listens."""
    try:
        sock = socket.create_connection((host, port), timeout=POLL_SECONDS * 25)
    except OSError as exc:
        raise VpcdUnavailable(
            f"cannot reach vpcd at {host}:{port} ({exc.strerror or exc}): is pcscd running with vsmartcard-vpcd?"
        ) from None
    sock.settimeout(POLL_SECONDS)
    return sock


def serve_emulator(emulator: JPKICardEmulator, sock: socket.socket, stop: threading.Event | None = None) -> None:
    """Answer vpcd on an open connection until vpcd hangs up or ``stop`` is set; then close it."""
    stop = stop or threading.Event()
    try:
        while True:
            length = int.from_bytes(_receive_exactly(sock, VPCD_LENGTH_BYTES, stop), "big")
            message = _receive_exactly(sock, length, stop)
            if length == VPCD_CONTROL_LENGTH:
                control = message[0]
                if control == VPCD_CTRL_ATR:
                    # vpcd asks for the ATR whenever pcscd polls for the card: not a reset.
                    _send(sock, emulator.atr)
                elif control in (VPCD_CTRL_OFF, VPCD_CTRL_ON, VPCD_CTRL_RESET):
                    emulator.reset()
                else:
                    logger.warning("vpcd sent unknown control byte %02X", control)
            elif length:
                _send(sock, emulator.transmit(message))
    except (_Disconnected, ConnectionError):
        logger.info("vpcd connection closed")
    finally:
        sock.close()


def serve_card(
    card_path: Path | str,
    host: str = VPCD_DEFAULT_HOST,
    port: int = VPCD_DEFAULT_PORT,
    *,
    stop: threading.Event | None = None,
    connected: threading.Event | None = None,
) -> None:
    """Insert the card file into pcscd's virtual reader and serve it until vpcd hangs up or ``stop`` is set.

    Runs in the calling thread: start it in a thread or a process. ``connected`` is set once the card is
    plugged in. :class:`~anchorid.jpki.errors.CardNotPresent` if the card file is missing,
    :class:`VpcdUnavailable` if pcscd/vpcd is not listening.
    """
    emulator = JPKICardEmulator(CardFile.load(Path(card_path)))
    sock = connect(host, port)
    logger.info("virtual card connected to vpcd at %s:%d", host, port)
    if connected is not None:
        connected.set()
    serve_emulator(emulator, sock, stop)


__all__ = ["VPCD_DEFAULT_PORT", "VPCD_READER_NAME", "VpcdUnavailable", "serve_card", "serve_emulator"]
