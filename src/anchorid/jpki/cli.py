"""``anchorid card ...``: read and use a My Number Card, virtual (``--card FILE``) or in a PC/SC reader.

info, pin-status, sign, serve-vpcd. PINs are asked with getpass (or read as one line from stdin with
``--pin-stdin``), sent to the card, and never printed.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import sys
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from anchorid.jpki.cardfile import KeySlot
from anchorid.jpki.client import JPKICard
from anchorid.jpki.errors import (
    CardError,
    CardNotPresent,
    CertificateNotPresent,
    InvalidPinFormat,
    PinBlocked,
    WrongPin,
)
from anchorid.jpki.transport import EmulatorTransport, PcscTransport, Transport

EXIT_CARD_ERROR = 1
EXIT_WRONG_PIN = 2
EXIT_PIN_BLOCKED = 3
EXIT_NO_CARD = 4

PIN_PROMPTS = {
    KeySlot.SIGNATURE: "署名用パスワード / signature password (6-16 characters, A-Z 0-9): ",
    KeySlot.AUTHENTICATION: "利用者証明用PIN / user authentication PIN (4 digits): ",
}


def add_card_commands(commands: Any) -> None:
    card = commands.add_parser("card", help="read and use a My Number Card (virtual or in a PC/SC reader)")
    sub = card.add_subparsers(dest="card_command", required=True, metavar="CARD_COMMAND")

    info = sub.add_parser("info", help="token label, certificates, PIN tries left (asks no PIN)")
    _add_card_source(info)
    info.set_defaults(func=_info)

    pin_status = sub.add_parser("pin-status", help="tries left for each PIN (spends none)")
    _add_card_source(pin_status)
    pin_status.set_defaults(func=_pin_status)

    sign = sub.add_parser("sign", help="sign a file with a card key (sha256WithRSAEncryption)")
    _add_card_source(sign)
    sign.add_argument("--data", required=True, type=Path, help="the file to sign")
    sign.add_argument("--key", choices=[slot.value for slot in KeySlot], default=KeySlot.SIGNATURE.value)
    sign.add_argument("--pin-stdin", action="store_true", help="read the PIN as one line from stdin")
    sign.add_argument("--out", type=Path, help="write the raw signature here (default: base64 to stdout)")
    sign.add_argument("--cert-out", type=Path, help="also write the key's certificate here (PEM)")
    sign.set_defaults(func=_sign)

    serve = sub.add_parser("serve-vpcd", help="insert a virtual card into pcscd's vpcd reader and serve it")
    serve.add_argument("--card", required=True, type=Path, help="the virtual card file")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=35963, help="35963 = Virtual PCD 00 00, 35964 = 00 01")
    serve.set_defaults(func=_serve_vpcd)


def _add_card_source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--card", type=Path, help="a virtual card file")
    source.add_argument(
        "--reader",
        nargs="?",
        const="",
        metavar="NAME",
        help="a PC/SC reader (by name or part of it; without NAME the first reader holding a card)",
    )


def _transport(args: argparse.Namespace) -> Transport:
    if args.card is not None:
        return EmulatorTransport(args.card)
    return PcscTransport(args.reader or None)


def _run(args: argparse.Namespace, action: Any) -> int:
    """Open the card, run ``action(card)``, and turn card errors into a message and an exit code."""
    try:
        with JPKICard(_transport(args)) as card:
            result: int = action(card)
            return result
    except WrongPin as exc:
        return _fail(f"wrong PIN: {exc.tries_left} tries left before it blocks", EXIT_WRONG_PIN)
    except PinBlocked:
        return _fail("the PIN is blocked: reset it at the city counter (市区町村の窓口)", EXIT_PIN_BLOCKED)
    except InvalidPinFormat as exc:
        return _fail(f"{exc} (nothing was sent to the card)", EXIT_WRONG_PIN)
    except CardNotPresent as exc:
        return _fail(f"no card: {exc}", EXIT_NO_CARD)
    except CardError as exc:
        return _fail(str(exc), EXIT_CARD_ERROR)


def _fail(message: str, code: int) -> int:
    print(f"anchorid card: error: {message}", file=sys.stderr)
    return code


def _info(args: argparse.Namespace) -> int:
    def show(card: JPKICard) -> int:
        status = card.status()
        print(f"token label:            {status.token_label}")
        print(f"signature certificate:  {'present' if status.has_signature_certificate else 'none'}")
        print(f"signature PIN:          {_tries(status.signature_pin_tries_left)}")
        print(f"authentication PIN:     {_tries(status.authentication_pin_tries_left)}")
        try:
            certificate = card.read_auth_certificate()
        except CertificateNotPresent:
            print("authentication certificate: none")
            return 0
        print("authentication certificate:")
        print(f"  subject:    {certificate.subject.rfc4514_string()}")
        print(f"  issuer:     {certificate.issuer.rfc4514_string()}")
        print(f"  serial:     {certificate.serial_number:X}")
        print(f"  valid from: {certificate.not_valid_before_utc.isoformat()}")
        print(f"  valid to:   {certificate.not_valid_after_utc.isoformat()}")
        return 0

    return _run(args, show)


def _tries(tries_left: int | None) -> str:
    if tries_left is None:
        return "not set (blank card)"
    return "BLOCKED" if tries_left == 0 else f"{tries_left} tries left"


def _pin_status(args: argparse.Namespace) -> int:
    def show(card: JPKICard) -> int:
        status = card.status()
        print(f"signature PIN:       {_tries(status.signature_pin_tries_left)}")
        print(f"authentication PIN:  {_tries(status.authentication_pin_tries_left)}")
        return 0

    return _run(args, show)


def _read_pin(slot: KeySlot, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return getpass.getpass(PIN_PROMPTS[slot])


def _sign(args: argparse.Namespace) -> int:
    slot = KeySlot(args.key)
    try:
        data = args.data.read_bytes()
    except OSError as exc:
        return _fail(f"cannot read {args.data}: {exc.strerror}", EXIT_CARD_ERROR)

    def sign(card: JPKICard) -> int:
        pin = _read_pin(slot, args.pin_stdin)  # asked once the card is there
        signature = card.sign(data, pin=pin, key=slot)
        if args.cert_out is not None:
            certificate: x509.Certificate = (
                card.read_signature_certificate(pin) if slot is KeySlot.SIGNATURE else card.read_auth_certificate()
            )
            args.cert_out.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        if args.out is not None:
            args.out.write_bytes(signature)
        else:
            print(base64.b64encode(signature).decode())
        return 0

    return _run(args, sign)


def _serve_vpcd(args: argparse.Namespace) -> int:
    from anchorid.jpki.vpcd import serve_card

    print(f"serving {args.card} to vpcd at {args.host}:{args.port}; Ctrl-C to remove the card", file=sys.stderr)
    try:
        serve_card(args.card, args.host, args.port)
    except CardNotPresent as exc:
        return _fail(f"no card: {exc}", EXIT_NO_CARD)
    except CardError as exc:
        return _fail(str(exc), EXIT_CARD_ERROR)
    except KeyboardInterrupt:
        pass
    return 0


__all__ = ["add_card_commands"]
