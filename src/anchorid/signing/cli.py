"""``anchorid sign …``: sign and verify documents on the resident's side (docs/signing.md).

- ``sign pdf --in X --out Y (--card FILE | --reader NAME | --wallet DIR) --idp URL [--pin-stdin] [--stamp]``:
  PAdES B-LTA with the card's signature key (当事者型) or the wallet key; the idp supplies the TSA, the trust
  roots and J-LIS's revocation data for the card certificate;
- ``sign cms --in FILE --out FILE.p7s (--card … | --wallet DIR) --idp URL``: a detached CAdES-style signature;
- ``sign verify FILE [--signature FILE.p7s] (--idp URL | --trust PEM …) [--at ISO-TIME] [--json]``: offline for
  PDFs (the document's own validation data); ``--at`` validates as of another "now";
- ``sign extend PATH … --idp URL [--within-days N]``: archive renewal — a new document timestamp (and the last
  one's validation data) on each PDF, folders walked recursively, files replaced atomically;
- ``sign approve CODE --wallet DIR --idp URL``: approve a document the portal prepared, with the wallet key.

Exit codes: 0 done (verify: valid), 1 refused or not valid (the message says why), 2 usage or local problem.
Output files are written to a temporary file and renamed: on any error nothing is written. The PIN and the
wallet passphrase are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from anchorid.common import config

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_ERROR = 2


def _fail(message: str, code: int = EXIT_REFUSED) -> int:
    print(f"anchorid sign: {message}", file=sys.stderr)
    return code


@contextlib.contextmanager
def _atomic_output(path: str) -> Iterator[IO[bytes]]:
    """A temporary file next to ``path``, renamed onto it only if the block succeeds."""
    target = Path(path)
    handle = tempfile.NamedTemporaryFile(dir=target.parent or ".", prefix=f".{target.name}.", delete=False)  # noqa: SIM115
    try:
        yield handle
        handle.close()
        Path(handle.name).replace(target)
    except BaseException:
        handle.close()
        Path(handle.name).unlink(missing_ok=True)
        raise


def _pin(args: argparse.Namespace) -> str:
    if args.pin_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return getpass.getpass("signature password (署名用パスワード): ")


def _card_opener(args: argparse.Namespace) -> Any:
    from anchorid.jpki.client import JPKICard
    from anchorid.jpki.transport import EmulatorTransport, PcscTransport

    if args.card:
        return lambda: JPKICard(EmulatorTransport(args.card))
    return lambda: JPKICard(PcscTransport(args.reader or None))


@contextlib.contextmanager
def _signer(args: argparse.Namespace, *, for_pdf: bool) -> Iterator[tuple[Any, Any, Any]]:
    """(pyHanko signer, validation context, stamp or None) for the chosen key."""
    from anchorid.jpki.certificates import parse_signature_certificate
    from anchorid.signing import client, stamps
    from anchorid.signing.revinfo import signing_context
    from anchorid.signing.signers import CardSigner, key_signer

    trust = client.idp_trust(args.idp)
    if args.wallet:
        from anchorid.wallet.store import Wallet

        wallet = Wallet(args.wallet)
        key = wallet.private_key(config.WALLET_PASSPHRASE.value())
        certificate, chain = client.wallet_signing_certificate(wallet, key, args.idp)
        context = signing_context(trust.roots, other_certs=chain)
        stamp = stamps.Stamp(text="AnchorID wallet signature\n%(ts)s") if for_pdf and args.stamp else None
        yield key_signer(key, certificate, chain), context, stamp
        return
    pin = _pin(args)
    with _card_opener(args)() as card:
        certificate = card.read_signature_certificate(pin)
        ocsps, crls, issuer = client.jpki_validation_data(args.idp, certificate)
        context = signing_context(trust.roots, other_certs=[issuer], ocsps=ocsps, crls=crls)
        stamp = None
        if for_pdf and args.stamp:
            name = parse_signature_certificate(certificate).info.name.replace("%", "%%")
            stamp = stamps.Stamp(text=f"{name}\n電子署名 %(ts)s")
        yield CardSigner(card, pin, certificate, [issuer]), context, stamp


def _errors() -> tuple[type[BaseException], ...]:
    from anchorid.jpki.errors import CardError
    from anchorid.signing.errors import SigningError
    from anchorid.signing.stamps import StampUnavailable
    from anchorid.wallet.store import WalletError

    return (SigningError, CardError, WalletError, StampUnavailable, OSError)


def _describe(error: BaseException) -> str:
    from anchorid.jpki.errors import WrongPin

    if isinstance(error, WrongPin):
        return f"wrong signature password: {error.tries_left} tries left"
    code = getattr(error, "code", None)
    return f"{code}: {error}" if isinstance(code, str) else str(error) or error.__class__.__name__


def _sign_pdf(args: argparse.Namespace) -> int:
    from anchorid.signing import pdf

    try:
        with open(args.input, "rb") as source, _signer(args, for_pdf=True) as (signer, context, stamp):
            stamper = pdf.timestamper(_tsa_url(args))
            with _atomic_output(args.out) as output:
                pdf.sign_pdf(source, output, signer, stamper=stamper, context=context, reason=args.reason, stamp=stamp)
    except _errors() as error:
        return _fail(_describe(error))
    print(f"signed: {args.out} (PAdES B-LTA)")
    return EXIT_OK


def _tsa_url(args: argparse.Namespace) -> str:
    return str(args.idp).rstrip("/") + "/tsa"


def _sign_cms(args: argparse.Namespace) -> int:
    from anchorid.signing import cms, pdf

    try:
        with open(args.input, "rb") as source, _signer(args, for_pdf=False) as (signer, _context, _stamp):
            der = cms.sign_detached(source, signer, stamper=pdf.timestamper(_tsa_url(args)))
            with _atomic_output(args.out) as output:
                output.write(der)
    except _errors() as error:
        return _fail(_describe(error))
    print(f"signed: {args.out} (detached CMS, DER)")
    return EXIT_OK


def _trust_roots(args: argparse.Namespace) -> list[Any]:
    from cryptography import x509

    from anchorid.signing import client

    roots: list[Any] = []
    for path in args.trust or ():
        roots.extend(x509.load_pem_x509_certificates(Path(path).read_bytes()))
    if args.idp:
        roots.extend(client.idp_trust(args.idp).roots)
    if not roots:
        raise SystemExit(_fail("give --idp URL or --trust PEM (the roots to trust)", EXIT_ERROR))
    return roots


def _verify(args: argparse.Namespace) -> int:
    from anchorid.signing import cms
    from anchorid.signing.verify import verify_pdf

    at = datetime.fromisoformat(args.at) if args.at else None
    try:
        roots = _trust_roots(args)
        with open(args.file, "rb") as stream:
            if args.signature:
                report: Any = cms.verify_detached(stream, Path(args.signature).read_bytes(), roots, moment=at)
                result = {
                    "ok": report.ok,
                    "intact": report.intact,
                    "trusted": report.trusted,
                    "signing_time": report.signing_time.isoformat() if report.signing_time else None,
                    "signer": report.signer.__dict__ | {"not_after": str(report.signer.not_after)},
                }
            else:
                report = verify_pdf(stream, roots, at=at)
                result = report.as_json()
    except _errors() as error:
        return _fail(_describe(error))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    else:
        _print_report(result)
    return EXIT_OK if result["ok"] else EXIT_REFUSED


def _print_report(result: dict[str, Any]) -> None:
    print("VALID" if result["ok"] else "NOT VALID")
    for signature in result.get("signatures", []):
        signer = signature["signer"]
        who = signer.get("name") or signer.get("common_name")
        print(f"- {signature['field_name']}: {who} ({signer['kind']})")
        print(
            f"  signed at {signature['signing_time']}; intact {signature['intact']}; "
            f"valid at signing time {signature['valid_at_signing_time']} ({signature['indication']}"
            f"{'/' + signature['sub_indication'] if signature['sub_indication'] else ''}); PAdES {signature['level']}"
        )
    for timestamp in result.get("document_timestamps", []):
        print(
            f"- document timestamp {timestamp['time']} (TSA certificate until {timestamp['tsa_certificate_not_after']})"
        )
    if result.get("offline_until"):
        print(f"- verifiable offline until {result['offline_until']} ({result['offline_limited_by']}): renew before")
    if "signatures" not in result:
        signer = result["signer"].get("name") or result["signer"]["common_name"]
        print(f"- signer {signer}; signed at {result['signing_time']}")


def _pdf_files(paths: list[str]) -> Iterator[Path]:
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() == ".pdf" and p.is_file())
        else:
            yield path


def _needs_renewal(path: Path, within: timedelta | None) -> bool:
    """Renew when the file's offline horizon (the newest timestamp's certificates and validation data) ends within
    ``within``, or it has none."""
    if within is None:
        return True
    from anchorid.signing import documents
    from anchorid.signing.horizon import offline_horizon

    with path.open("rb") as stream:
        horizon = offline_horizon(documents.open_pdf(stream))
    return horizon.until is None or horizon.until - datetime.now(UTC) < within


def _extend(args: argparse.Namespace) -> int:
    from anchorid.signing import client, pdf
    from anchorid.signing.revinfo import signing_context

    within = timedelta(days=args.within_days) if args.within_days is not None else None
    failures = 0
    try:
        trust = client.idp_trust(args.idp)
    except _errors() as error:
        return _fail(_describe(error))
    for path in _pdf_files(args.paths):
        try:
            if not _needs_renewal(path, within):
                print(f"skipped: {path} (verifiable offline for more than {args.within_days} days)")
                continue
            with path.open("rb") as source, _atomic_output(str(path)) as output:
                asyncio.run(
                    pdf.async_extend_pdf(
                        source, output, stamper=pdf.timestamper(trust.tsa_url), context=signing_context(trust.roots)
                    )
                )
            print(f"extended: {path}")
        except _errors() as error:
            failures += 1
            print(f"anchorid sign: {path}: {_describe(error)}", file=sys.stderr)
    return EXIT_REFUSED if failures else EXIT_OK


def _approve(args: argparse.Namespace) -> int:
    import base64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from anchorid.signing import client, pdf
    from anchorid.wallet.store import Wallet

    try:
        request = client.approval_request(args.idp, args.code)
        digest = bytes.fromhex(str(request["document_digest"]))
        print(
            f"{request['origin']} asks you to sign a document with SHA-256 {request['document_sha256']}",
            file=sys.stderr,
        )
        wallet = Wallet(args.wallet)
        key = wallet.private_key(config.WALLET_PASSPHRASE.value())
        certificate, _chain = client.wallet_signing_certificate(wallet, key, args.idp)
        attributes = pdf.signed_attributes(digest, certificate)
        signature = key.sign(attributes, ec.ECDSA(hashes.SHA256()))
        client.approve(
            args.idp,
            args.code,
            {
                "certificate": base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode(),
                "signed_attributes": base64.b64encode(attributes).decode(),
                "signature": base64.b64encode(signature).decode(),
            },
        )
    except (KeyError, ValueError) as error:
        return _fail(_describe(error))
    except _errors() as error:
        return _fail(_describe(error))
    print("approved: the portal now offers the signed PDF")
    return EXIT_OK


def _key_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--card", help="a virtual card file")
    source.add_argument("--reader", help="a PC/SC reader name (or part of one)")
    source.add_argument("--wallet", help="the wallet folder (its key signs; ANCHORID_WALLET_PASSPHRASE unlocks it)")
    parser.add_argument("--pin-stdin", action="store_true", help="read the signature password from stdin")
    parser.add_argument("--idp", required=True, help="the idp's URL (TSA, trust roots, revocation data)")


def add_sign_commands(commands: Any) -> None:
    """Register ``anchorid sign`` on the top-level subparsers."""
    sign = commands.add_parser("sign", help="sign and verify documents (PAdES B-LTA, detached CMS)")
    verbs = sign.add_subparsers(dest="sign_command", required=True, metavar="COMMAND")

    pdf_ = verbs.add_parser("pdf", help="sign a PDF (PAdES B-LTA)")
    pdf_.add_argument("--in", dest="input", required=True)
    pdf_.add_argument("--out", required=True)
    pdf_.add_argument("--reason", help="the reason shown in the signature")
    pdf_.add_argument("--stamp", action="store_true", help="a visible stamp with the signer's name")
    _key_options(pdf_)
    pdf_.set_defaults(func=_sign_pdf)

    cms_ = verbs.add_parser("cms", help="a detached CMS signature of any file")
    cms_.add_argument("--in", dest="input", required=True)
    cms_.add_argument("--out", required=True)
    _key_options(cms_)
    cms_.set_defaults(func=_sign_cms)

    verify = verbs.add_parser("verify", help="verify a signed PDF (or a file and its detached signature)")
    verify.add_argument("file")
    verify.add_argument("--signature", help="a detached signature (.p7s) of FILE")
    verify.add_argument("--idp", help="take the trust roots from this idp")
    verify.add_argument("--trust", action="append", help="PEM file of roots to trust (repeatable)")
    verify.add_argument("--at", help="validate as of this time (ISO 8601), not now")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(func=_verify)

    extend = verbs.add_parser("extend", help="add a new document timestamp to signed PDFs (archive renewal)")
    extend.add_argument("paths", nargs="+", metavar="PATH", help="PDF files or folders")
    extend.add_argument("--idp", required=True)
    extend.add_argument(
        "--within-days", type=int, help="only files that stop verifying offline within N days (or already have)"
    )
    extend.set_defaults(func=_extend)

    approve = verbs.add_parser("approve", help="approve a document prepared in the portal, with the wallet key")
    approve.add_argument("code")
    approve.add_argument("--wallet", required=True)
    approve.add_argument("--idp", required=True)
    approve.set_defaults(func=_approve)
