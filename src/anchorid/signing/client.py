"""What the resident's side asks the idp for: trust roots and the TSA, J-LIS data for a card certificate, and
the wallet key's signing certificate (through a wallet login). HTTP + JSON, like the wallet protocol."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from anchorid.common import untrusted_json
from anchorid.signing.errors import SigningFailed
from anchorid.wallet.protocol import TYPE_LOGIN, IdpClient, IdpRefused, b64, b64url, client_data
from anchorid.wallet.store import Wallet

TIMEOUT_SECONDS = 15.0
SIGNING_CERTIFICATE_FILE = "signing-certificate.pem"
#: Ask for a new signing certificate when the stored one has less than this left.
RENEW_BEFORE = timedelta(days=7)


@dataclass(frozen=True)
class IdpTrust:
    roots: list[x509.Certificate]
    tsa_url: str


def _get_json(url: str) -> dict[str, object]:
    try:
        reply = requests.get(url, timeout=TIMEOUT_SECONDS)
        answer = untrusted_json.loads(reply.content)
    except (requests.RequestException, ValueError) as error:
        raise SigningFailed("idp_unreachable", f"{url}: {error.__class__.__name__}") from None
    if reply.status_code != 200 or not isinstance(answer, dict):
        raise SigningFailed("idp_refused", f"{url} answered HTTP {reply.status_code}")
    return answer


def idp_trust(idp_url: str) -> IdpTrust:
    answer = _get_json(idp_url.rstrip("/") + "/signing/trust")
    roots_pem = answer.get("roots")
    tsa = answer.get("tsa")
    if not isinstance(roots_pem, list) or not isinstance(tsa, str):
        raise SigningFailed("idp_refused", "the idp's trust answer makes no sense")
    roots = [x509.load_pem_x509_certificate(str(pem).encode()) for pem in roots_pem]
    return IdpTrust(roots, tsa)


def jpki_validation_data(
    idp_url: str, certificate: x509.Certificate
) -> tuple[list[bytes], list[bytes], x509.Certificate]:
    """(OCSP responses, CRLs, issuing CA) for a JPKI signature certificate, fetched from J-LIS by the idp."""
    try:
        answer = IdpClient(idp_url).json(
            "/signing/validation-data", {"certificate": b64(certificate.public_bytes(serialization.Encoding.DER))}
        )
        ocsps = [base64.b64decode(item) for item in answer["ocsp"]]
        crls = [base64.b64decode(item) for item in answer["crls"]]
        issuer = x509.load_der_x509_certificate(base64.b64decode(answer["issuer"]))
    except IdpRefused as refused:
        raise SigningFailed(refused.code, str(refused)) from None
    except (KeyError, TypeError, ValueError):
        raise SigningFailed("idp_refused", "the idp's validation data makes no sense") from None
    return ocsps, crls, issuer


def wallet_signing_certificate(
    wallet: Wallet, key: ec.EllipticCurvePrivateKey, idp_url: str
) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The wallet key's signing certificate (stored in the wallet; fetched with a wallet login when missing)."""
    path = Path(wallet.directory) / SIGNING_CERTIFICATE_FILE
    if path.exists():
        stored = x509.load_pem_x509_certificates(path.read_bytes())
        if stored and stored[0].not_valid_after_utc - datetime.now(UTC) > RENEW_BEFORE:
            return stored[0], stored[1:]
    device_certificate = wallet.certificate()
    if device_certificate is None:
        raise SigningFailed("not_enrolled", "the wallet has no certificate yet: run `anchorid wallet enroll` first")
    idp = IdpClient(idp_url)
    try:
        challenge = idp.challenge("/login/wallet/challenge")
        data = client_data(TYPE_LOGIN, challenge, idp.origin)
        answer = idp.json(
            "/signing/wallet-certificate",
            {
                "certificate": b64(device_certificate.public_bytes(serialization.Encoding.DER)),
                "client_data": b64url(data),
                "signature": b64(key.sign(data, ec.ECDSA(hashes.SHA256()))),
            },
        )
        certificate = x509.load_der_x509_certificate(base64.b64decode(answer["certificate"]))
        chain = [x509.load_der_x509_certificate(base64.b64decode(item)) for item in answer["chain"]]
    except IdpRefused as refused:
        raise SigningFailed(refused.code, str(refused)) from None
    except (KeyError, TypeError, ValueError):
        raise SigningFailed("idp_refused", "the idp's signing certificate answer makes no sense") from None
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (certificate, *chain))
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(pem)
    temporary.replace(path)
    return certificate, chain


def approval_request(idp_url: str, code: str) -> dict[str, object]:
    return _get_json(f"{idp_url.rstrip('/')}/signing/approve/{code}")


def approve(idp_url: str, code: str, body: dict[str, str]) -> None:
    try:
        reply = requests.post(
            f"{idp_url.rstrip('/')}/signing/approve/{code}",
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
            timeout=TIMEOUT_SECONDS,
        )
    except requests.RequestException as error:
        raise SigningFailed("idp_unreachable", f"the idp is unreachable: {error.__class__.__name__}") from None
    if reply.status_code >= 400:
        try:
            answer = untrusted_json.loads(reply.content)
            raise SigningFailed(str(answer["error"]), str(answer["message"]))
        except (ValueError, KeyError, TypeError):
            raise SigningFailed("idp_refused", f"the idp answered HTTP {reply.status_code}") from None
