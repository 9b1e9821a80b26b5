"""The idp's wallet API, from the wallet's side (docs/wallet.md): plain HTTP + JSON, nothing imported from the idp.

- ``POST /wallet/challenge`` → ``{"challenge", "expires_at"}``;
- ``POST /wallet/enroll`` ``{"csr", "device_name", "card": {"certificate", "client_data", "signature"}}`` (card)
  or the same without ``card`` and with the session cookie → ``201 {"certificate", "chain", "credential_id", …}``;
- ``POST /login/wallet/challenge``, then ``POST /login/wallet`` ``{"certificate", "client_data", "signature"}``
  → ``{"acr", "amr", "credential_id", "session_cookie"}`` and the session cookie.

Client data is the JSON the signature covers: its type, the challenge, the idp's origin (so a signature made
for a look-alike site is useless here), and for enrollment the CSR's SHA-256 (so the card signature vouches for
this key only).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from anchorid.common import untrusted_json

TIMEOUT_SECONDS = 15.0
TYPE_ENROLL = "anchorid.wallet.enroll"
TYPE_LOGIN = "anchorid.wallet.login"
#: The CSR's subject is ignored by the idp (it writes an opaque one); this one says what the request is.
CSR_COMMON_NAME = "AnchorID wallet key"


class IdpRefused(Exception):
    """The idp answered with an error (``code``, ``message``) or not at all."""

    def __init__(self, code: str, message: str, status: int = 0) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message
        self.status = status


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise IdpRefused("bad_url", f"the idp URL must be http(s)://host[:port], not {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def client_data(kind: str, challenge: str, origin: str, *, csr_sha256: str | None = None) -> bytes:
    data = {"type": kind, "challenge": challenge, "origin": origin}
    if csr_sha256 is not None:
        data["csr_sha256"] = csr_sha256
    return json.dumps(data, separators=(",", ":")).encode("utf-8")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def build_csr(key: ec.EllipticCurvePrivateKey) -> bytes:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CSR_COMMON_NAME)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.DER)


@dataclass
class IdpClient:
    url: str
    cookies: dict[str, str] | None = None

    @property
    def origin(self) -> str:
        return origin_of(self.url)

    def post(self, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        try:
            reply = requests.post(
                self.url.rstrip("/") + path,
                data=json.dumps(body or {}).encode("utf-8"),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                cookies=self.cookies,
                timeout=TIMEOUT_SECONDS,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            raise IdpRefused(
                "unreachable", f"the idp at {self.url} is unreachable: {error.__class__.__name__}"
            ) from None
        if reply.status_code >= 400:
            try:
                answer = untrusted_json.loads(reply.content)
                code, message = str(answer["error"]), str(answer["message"])
            except (ValueError, KeyError, TypeError):
                code, message = "http_error", f"the idp answered HTTP {reply.status_code}"
            raise IdpRefused(code, message, reply.status_code)
        return reply

    def json(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        reply = self.post(path, body)
        try:
            answer = untrusted_json.loads(reply.content)
        except ValueError:
            raise IdpRefused("bad_answer", f"the idp answered {path} without JSON") from None
        if not isinstance(answer, dict):
            raise IdpRefused("bad_answer", f"the idp answered {path} with something other than an object")
        return answer

    def challenge(self, path: str) -> str:
        challenge = self.json(path).get("challenge")
        if not isinstance(challenge, str):
            raise IdpRefused("bad_answer", "the idp sent no challenge")
        return challenge


def csr_sha256(csr_der: bytes) -> str:
    return hashlib.sha256(csr_der).hexdigest()
