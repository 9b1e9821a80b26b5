"""``anchorid wallet …``: the resident's wallet key (docs/wallet.md).

- ``init --dir WALLET [--passphrase-stdin]``: a new P-256 key, encrypted with a passphrase (from stdin or
  ``ANCHORID_WALLET_PASSPHRASE``) or, without one, in clear with mode 0600;
- ``enroll --dir WALLET --idp URL (--card FILE [--pin-stdin] | --session-cookie VALUE | --session)``: get the
  key certified, authenticated by a fresh signature of the card (its signature PIN stays on this machine) or by
  a logged-in session (a cookie copied from the browser, or the one ``wallet login`` stored);
- ``show --dir WALLET``: the key, its certificate and the stored session (no secrets printed);
- ``login --dir WALLET [--idp URL]``: sign the idp's challenge with the key; stores the session in the wallet.

Exit codes: 0 done, 1 refused by the idp (the message and code are printed), 2 a local problem.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from anchorid.common import config, untrusted_json
from anchorid.wallet.protocol import (
    TYPE_ENROLL,
    TYPE_LOGIN,
    IdpClient,
    IdpRefused,
    b64,
    b64url,
    build_csr,
    client_data,
    csr_sha256,
)
from anchorid.wallet.store import Wallet, WalletError

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_ERROR = 2
PASSPHRASE_ENV = "ANCHORID_WALLET_PASSPHRASE"  # noqa: S105 - the name of a variable
SIGNATURE_PIN_PROMPT = "署名用パスワード / signature password (6-16 characters, A-Z 0-9): "


def _fail(message: str, code: int = EXIT_ERROR) -> int:
    print(f"anchorid: {message}", file=sys.stderr)
    return code


def _passphrase(wallet: Wallet) -> str | None:
    if not wallet.key_is_encrypted():
        return None
    return config.WALLET_PASSPHRASE.value() or getpass.getpass("wallet passphrase: ")


def _init(args: argparse.Namespace) -> int:
    wallet = Wallet(args.dir)
    passphrase = sys.stdin.readline().rstrip("\r\n") if args.passphrase_stdin else config.WALLET_PASSPHRASE.value()
    try:
        public_key = wallet.create_key(passphrase or None)
    except WalletError as error:
        return _fail(str(error))
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    protection = "encrypted with the passphrase" if passphrase else "NOT encrypted (file mode 0600)"
    print(f"wallet key created in {args.dir} ({protection}); public key sha256 {digest.finalize().hex()}")
    return EXIT_OK


def _card_proof(args: argparse.Namespace, idp: IdpClient, csr_der: bytes) -> dict[str, str]:
    """The card signs the client data with its signature key; the PIN goes to the card only."""
    from anchorid.jpki.client import JPKICard
    from anchorid.jpki.transport import EmulatorTransport

    challenge = idp.challenge("/wallet/challenge")
    data = client_data(TYPE_ENROLL, challenge, idp.origin, csr_sha256=csr_sha256(csr_der))
    pin = sys.stdin.readline().rstrip("\r\n") if args.pin_stdin else getpass.getpass(SIGNATURE_PIN_PROMPT)
    with JPKICard(EmulatorTransport(args.card)) as card:
        certificate = card.read_signature_certificate(pin)
        signature = card.sign(data, pin=pin)
    return {
        "certificate": b64(certificate.public_bytes(serialization.Encoding.DER)),
        "client_data": b64url(data),
        "signature": b64(signature),
    }


def _session_cookies(args: argparse.Namespace, wallet: Wallet) -> dict[str, str] | None:
    if args.session_cookie:
        return {args.cookie_name: args.session_cookie}
    if args.session:
        session = wallet.session()
        if not session.get("cookie_value"):
            raise WalletError("no stored session: run `anchorid wallet login` first")
        return {str(session["cookie_name"]): str(session["cookie_value"])}
    return None


def _enroll(args: argparse.Namespace) -> int:
    from anchorid.jpki.errors import CardError

    wallet = Wallet(args.dir)
    try:
        key = wallet.private_key(_passphrase(wallet))
        idp = IdpClient(args.idp, cookies=_session_cookies(args, wallet))
        csr_der = build_csr(key)
        body: dict[str, Any] = {"csr": b64(csr_der), "device_name": args.device_name}
        if args.card:
            body["card"] = _card_proof(args, idp, csr_der)
        answer = idp.json("/wallet/enroll", body)
        certificate = x509.load_der_x509_certificate(_unb64(answer["certificate"]))
        chain = [x509.load_der_x509_certificate(_unb64(item)) for item in answer["chain"]]
    except IdpRefused as refused:
        return _fail(f"enrollment refused: {refused}", EXIT_REFUSED)
    except CardError as error:
        return _fail(f"card: {error}")
    except WalletError as error:
        return _fail(str(error))
    except (KeyError, TypeError, ValueError):
        return _fail("the idp's answer is not a certificate and its chain")
    if certificate.public_key() != key.public_key():
        return _fail("the idp certified another key; not stored")
    wallet.store_certificate(
        certificate.public_bytes(serialization.Encoding.PEM),
        b"".join(item.public_bytes(serialization.Encoding.PEM) for item in chain),
        {
            "idp": args.idp.rstrip("/"),
            "credential_id": answer.get("credential_id"),
            "serial": answer.get("serial"),
            "not_after": answer.get("not_after"),
            "acr": answer.get("acr"),
            "device_name": args.device_name,
        },
    )
    print(f"enrolled: device certificate {answer.get('credential_id')} valid until {answer.get('not_after')}")
    return EXIT_OK


def _unb64(text: Any) -> bytes:
    import base64

    if not isinstance(text, str):
        raise ValueError("not base64")
    return base64.b64decode(text, validate=True)


def _show(args: argparse.Namespace) -> int:
    wallet = Wallet(args.dir)
    try:
        public_key = wallet.public_key()
        certificate = wallet.certificate()
        meta, session = wallet.meta(), wallet.session()
        encrypted = wallet.key_is_encrypted()
    except WalletError as error:
        return _fail(str(error))
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    report: dict[str, Any] = {
        "wallet": str(args.dir),
        "key": {"algorithm": "EC P-256", "sha256": digest.finalize().hex(), "encrypted": encrypted},
        "certificate": None,
        "session": None,
    }
    if certificate is not None:
        report["certificate"] = {
            "subject": certificate.subject.rfc4514_string(),
            "issuer": certificate.issuer.rfc4514_string(),
            "serial": f"{certificate.serial_number:040x}",
            "not_after": certificate.not_valid_after_utc.isoformat(),
            "idp": meta.get("idp"),
            "acr": meta.get("acr"),
            "device_name": meta.get("device_name"),
        }
    if session:
        report["session"] = {k: session.get(k) for k in ("idp", "acr", "amr", "obtained_at")}
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return EXIT_OK


def _login(args: argparse.Namespace) -> int:
    import datetime

    wallet = Wallet(args.dir)
    try:
        certificate = wallet.certificate()
        if certificate is None:
            raise WalletError("the wallet has no certificate yet: run `anchorid wallet enroll` first")
        idp_url = args.idp or wallet.meta().get("idp")
        if not idp_url:
            raise WalletError("give --idp URL")
        key = wallet.private_key(_passphrase(wallet))
        idp = IdpClient(idp_url)
        challenge = idp.challenge("/login/wallet/challenge")
        data = client_data(TYPE_LOGIN, challenge, idp.origin)
        reply = idp.post(
            "/login/wallet",
            {
                "certificate": b64(certificate.public_bytes(serialization.Encoding.DER)),
                "client_data": b64url(data),
                "signature": b64(key.sign(data, ec.ECDSA(hashes.SHA256()))),
            },
        )
        answer = untrusted_json.loads(reply.content)
        cookie_name = str(answer["session_cookie"])
        cookie_value = reply.cookies.get(cookie_name)
        if not cookie_value:
            raise IdpRefused("bad_answer", "the idp set no session cookie")
    except IdpRefused as refused:
        return _fail(f"login refused: {refused}", EXIT_REFUSED)
    except WalletError as error:
        return _fail(str(error))
    except (KeyError, TypeError, ValueError):
        return _fail("the idp's answer to the login makes no sense")
    wallet.store_session(
        {
            "idp": idp_url.rstrip("/"),
            "cookie_name": cookie_name,
            "cookie_value": cookie_value,
            "acr": answer.get("acr"),
            "amr": answer.get("amr"),
            "obtained_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
    )
    print(f"logged in at {answer.get('acr')} ({', '.join(answer.get('amr', []))}); session stored in the wallet")
    return EXIT_OK


def add_wallet_commands(commands: Any) -> None:
    """Register ``anchorid wallet`` on the top-level subparsers."""
    wallet = commands.add_parser("wallet", help="the resident's wallet key (device certificate, wallet login)")
    verbs = wallet.add_subparsers(dest="wallet_command", required=True, metavar="COMMAND")

    init = verbs.add_parser("init", help="generate the wallet's P-256 key")
    init.add_argument("--dir", required=True, type=Path, help="the wallet folder")
    init.add_argument("--passphrase-stdin", action="store_true", help="read the key passphrase as one stdin line")
    init.set_defaults(func=_init)

    enroll = verbs.add_parser("enroll", help="get the wallet key certified by the idp")
    enroll.add_argument("--dir", required=True, type=Path, help="the wallet folder")
    enroll.add_argument("--idp", required=True, help="the idp's URL, e.g. http://localhost:8001")
    how = enroll.add_mutually_exclusive_group(required=True)
    how.add_argument("--card", type=Path, help="a virtual My Number Card file: sign with its signature key")
    how.add_argument("--session-cookie", help="the value of a logged-in idp session cookie")
    how.add_argument("--session", action="store_true", help="use the session stored by `anchorid wallet login`")
    enroll.add_argument("--pin-stdin", action="store_true", help="read the card's signature PIN from stdin")
    enroll.add_argument("--cookie-name", default="sessionid", help="the idp's session cookie name")
    enroll.add_argument("--device-name", default="", help="a name for this device, shown in self-service")
    enroll.set_defaults(func=_enroll)

    show = verbs.add_parser("show", help="the key, the certificate and the stored session")
    show.add_argument("--dir", required=True, type=Path, help="the wallet folder")
    show.set_defaults(func=_show)

    login = verbs.add_parser("login", help="log in to the idp with the wallet key")
    login.add_argument("--dir", required=True, type=Path, help="the wallet folder")
    login.add_argument("--idp", help="the idp's URL (default: the one that enrolled the key)")
    login.set_defaults(func=_login)
