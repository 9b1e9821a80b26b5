"""The local card helper: a small HTTP server on 127.0.0.1 that the idp's onboarding page calls.

The page cannot talk to a card reader, and must never see the PIN. The helper (like the browser extension +
native client e-Tax and Mynaportal residents use) does three things for it, after the resident read what the card
is about to sign and typed the signature password into the helper's own terminal:

1. reads the card's signature certificate (EF 0001, readable only after VERIFY of the signature password);
2. signs the page's challenge (onboarding, card login, emergency stop, resumption), a PDF's CMS signed attributes
   or a J-LIS attribute consent with the card (COMPUTE DIGITAL SIGNATURE: SHA-256, PKCS#1 v1.5);
3. returns ``{"certificate", "signature"}`` (base64url, DER / raw) to the page.

What the resident is shown is derived from exactly the bytes the card signs (``prompts``): the challenge's prefix
names its action; for a PDF the helper receives the document itself and computes the digest it signs, the file's
own SHA-256 and size, or refuses.

Only the configured idp origin may call it: CORS preflight and ``Access-Control-Allow-Origin`` name exactly that
origin, requests from any other origin are refused, the ``Host`` header must be the loopback address (no DNS
rebinding), and the helper signs only challenges that name that same origin. One request at a time.

The cross-device variant (:func:`complete_with_code`) needs no browser on this machine: it fetches the challenge
the page's one-time code names from the idp, signs it, and posts the answer itself.

docs/protocols/card-helper.md is the reference.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from cryptography.hazmat.primitives import serialization

from anchorid.cardhelper.prompts import (
    CHALLENGE_ACTIONS,
    DocumentFacts,
    challenge_prompt,
    consent_prompt,
    document_prompt,
    guardian_prompt,
)
from anchorid.common import untrusted_json
from anchorid.jpki.cardfile import KeySlot
from anchorid.jpki.client import JPKICard
from anchorid.jpki.errors import CardError, CardNotPresent, InvalidPinFormat, PinBlocked, WrongPin

PROTOCOL_VERSION = 1
HELPER_NAME = "anchorid-card-helper"
DEFAULT_PORT = 31519
DEFAULT_IDP_ORIGIN = "http://127.0.0.1:8001"
#: The onboarding challenge's prefix; every challenge this helper signs starts with one of
#: ``prompts.CHALLENGE_ACTIONS`` (onboarding, card login, stop, resume), then the idp origin, then the random part.
CHALLENGE_PREFIX = "anchorid-onboarding/1"
MAX_REQUEST_BYTES = 4096
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
PREFLIGHT_MAX_AGE_SECONDS = 600
HTTP_TIMEOUT_SECONDS = 30

CardOpener = Callable[[], JPKICard]
#: Asked for the signature password, with a line that says who asks; ``None`` or "" cancels.
PinSource = Callable[[str], str | None]


class HelperError(Exception):
    """A refusal the helper answers with: HTTP status, stable code, English message (the page localizes codes)."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def as_json(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}


@dataclass(frozen=True, slots=True)
class SignedChallenge:
    certificate_der: bytes
    signature: bytes

    def as_json(self) -> dict[str, str]:
        return {"certificate": b64url(self.certificate_der), "signature": b64url(self.signature)}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def normalize_origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lowercased, without a path or a trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) origin: {url!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_challenge(challenge: Any, origin: str) -> str:
    """Refuse anything but an AnchorID challenge of ``origin`` (so the card never signs arbitrary data)."""
    if not isinstance(challenge, str) or len(challenge) > MAX_REQUEST_BYTES:
        raise HelperError(HTTPStatus.BAD_REQUEST, "bad_request", 'send {"challenge": "..."}')
    parts = challenge.split(" ")
    if len(parts) != 3 or parts[0] not in CHALLENGE_ACTIONS or not parts[2]:
        raise HelperError(HTTPStatus.BAD_REQUEST, "bad_request", "this is not an AnchorID challenge")
    if parts[1] != origin:
        raise HelperError(HTTPStatus.FORBIDDEN, "origin_mismatch", f"the challenge is not for {origin}")
    return challenge


@contextmanager
def card_refusals() -> Iterator[None]:
    """Turn what the card (or its reader) refuses into the helper's answer for the page, with its status code."""
    try:
        yield
    except HelperError:
        raise
    except InvalidPinFormat:
        raise HelperError(
            HTTPStatus.BAD_REQUEST, "invalid_pin_format", "a signature password is 6-16 letters A-Z and digits"
        ) from None
    except WrongPin as error:
        raise HelperError(
            HTTPStatus.UNAUTHORIZED,
            "wrong_pin",
            f"wrong signature password: {error.tries_left} tries left",
            tries_left=error.tries_left,
        ) from None
    except PinBlocked:
        raise HelperError(HTTPStatus.LOCKED, "pin_blocked", "the signature password is blocked") from None
    except CardNotPresent as error:
        raise HelperError(HTTPStatus.SERVICE_UNAVAILABLE, "no_card", str(error)) from None
    except CardError as error:
        raise HelperError(HTTPStatus.BAD_GATEWAY, "card_error", str(error)) from None


def _signature_pin(pin_source: PinSource, prompt: str) -> str:
    """The signature PIN from the resident (it goes to the card only), or a refusal if they cancelled."""
    pin = pin_source(prompt)
    if not pin:
        raise HelperError(HTTPStatus.BAD_REQUEST, "cancelled", "cancelled: no signature password given")
    return pin


def challenge_action(challenge: str) -> str:
    """The action a challenge names by its prefix: ``onboarding``, ``card_login``, ``card_stop`` or ``card_resume``."""
    action = CHALLENGE_ACTIONS.get(challenge.split(" ", 1)[0])
    if action is None:
        raise HelperError(HTTPStatus.BAD_REQUEST, "bad_request", "this is not an AnchorID challenge")
    return action


def sign_challenge(open_card: CardOpener, pin_source: PinSource, challenge: str, origin: str) -> SignedChallenge:
    """Read the signature certificate and sign ``challenge`` with the card, after a prompt naming the action its
    prefix names; the PIN goes to the card only."""
    action = challenge_action(challenge)
    prompt = challenge_prompt(action, origin)
    if action == "child_card":
        return _sign_with_authentication_key(open_card, pin_source, challenge, prompt)
    with card_refusals(), open_card() as card:
        if not card.status().has_signature_certificate:
            raise HelperError(
                HTTPStatus.CONFLICT,
                "no_signature_certificate",
                "this card has no signature certificate (residents under 15 get none): it cannot be used "
                "to register alone",
            )
        pin = _signature_pin(pin_source, prompt)
        certificate = card.read_signature_certificate(pin)
        signature = card.sign(challenge.encode("utf-8"), pin=pin)
    return SignedChallenge(certificate.public_bytes(serialization.Encoding.DER), signature)


def _sign_with_authentication_key(open_card: CardOpener, pin_source: PinSource, challenge: str, prompt: str
                                  ) -> SignedChallenge:  # fmt: skip
    """A child's card (no signature certificate under 15): the user-authentication key signs, after the 4-digit
    PIN; the certificate is read without a PIN, as the card allows."""
    with card_refusals(), open_card() as card:
        pin = pin_source(prompt)
        if not pin:
            raise HelperError(HTTPStatus.BAD_REQUEST, "cancelled", "cancelled: no PIN given")
        certificate = card.read_auth_certificate()
        signature = card.sign(challenge.encode("utf-8"), pin=pin, key=KeySlot.AUTHENTICATION)
    return SignedChallenge(certificate.public_bytes(serialization.Encoding.DER), signature)


@dataclass(frozen=True, slots=True)
class SignedDocument:
    certificate_der: bytes
    signed_attributes: bytes
    signature: bytes

    def as_json(self) -> dict[str, str]:
        return {
            "certificate": b64url(self.certificate_der),
            "signed_attributes": b64url(self.signed_attributes),
            "signature": b64url(self.signature),
        }


MAX_FILE_NAME = 255
HEX_SHA256 = 64
#: The idp's 50 MiB upload limit plus the revision it prepares (signature placeholder, stamp).
MAX_DOCUMENT_BYTES = 51 * 1024 * 1024
#: A ByteRange array as written in a signature dictionary (ISO 32000-1 12.8.1).
BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s*\]")
#: An unfilled /Contents hex string: the hole the signature goes into.
PLACEHOLDER = re.compile(rb"<0+>")


def _one(params: dict[str, list[str]], name: str) -> str:
    values = params.get(name)
    if values is None or len(values) != 1:
        raise HelperError(HTTPStatus.BAD_REQUEST, "bad_request", f"send exactly one {name} parameter")
    return values[0]


def _hex_sha256(params: dict[str, list[str]], name: str) -> str:
    value = _one(params, name)
    if len(value) != HEX_SHA256 or value.strip("0123456789abcdef"):
        raise HelperError(HTTPStatus.BAD_REQUEST, "bad_request", f"{name} is 64 lowercase hex digits")
    return value


def check_document_request(query: str, document: bytes) -> tuple[DocumentFacts, bytes]:
    """What ``/v1/sign-document`` will show and sign for this prepared PDF, all computed here, or a refusal.

    ``query``: ``file_name`` (shown as the page's label), ``original_size`` (the resident's file is the document's
    first bytes), ``document_sha256`` and ``document_digest`` (what the idp computed: the helper refuses unless its
    own computation gives the same). The digest the card will sign over is the SHA-256 of every byte of
    ``document`` except its unfilled signature placeholder (the ByteRange of its last signature dictionary, which
    must start at 0, end at the end of the file and leave out exactly a ``<00…>`` hole): what any PDF verifier
    recomputes. Nothing of the page's is trusted for what is shown or signed; a mismatch is refused before the
    card is touched.
    """
    try:
        params = parse_qs(query, keep_blank_values=True, strict_parsing=True, max_num_fields=8)
    except ValueError:
        raise HelperError(HTTPStatus.BAD_REQUEST, "bad_request", "the query string does not parse") from None
    name = _one(params, "file_name")
    if not 0 < len(name) <= MAX_FILE_NAME or not name.isprintable():
        raise HelperError(HTTPStatus.BAD_REQUEST, "bad_request", "file_name must be printable text")
    size_text = _one(params, "original_size")
    if not size_text.isdigit() or len(size_text) > 12:
        raise HelperError(HTTPStatus.BAD_REQUEST, "bad_request", "original_size is a number of bytes")
    original_size = int(size_text)
    expected_sha256 = _hex_sha256(params, "document_sha256")
    expected_digest = _hex_sha256(params, "document_digest")

    if not document.startswith(b"%PDF-"):
        raise HelperError(HTTPStatus.UNPROCESSABLE_ENTITY, "not_pdf", "the document is not a PDF")
    ranges = BYTE_RANGE.findall(document)
    if not ranges:
        raise HelperError(HTTPStatus.UNPROCESSABLE_ENTITY, "no_signature_field", "the PDF has no signature to fill")
    first_start, first_length, second_start, second_length = (int(value) for value in ranges[-1])
    if (
        first_start != 0
        or not 0 < first_length < second_start <= len(document)
        or second_start + second_length != len(document)
        or not PLACEHOLDER.fullmatch(document, first_length, second_start)
    ):
        raise HelperError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "bad_byte_range",
            "the signature would not cover the whole document but its unfilled placeholder",
        )
    if not 0 < original_size <= first_length:
        raise HelperError(
            HTTPStatus.UNPROCESSABLE_ENTITY, "document_mismatch", "the original file must precede the signature field"
        )
    signed = hashlib.sha256(memoryview(document)[:first_length])
    signed.update(memoryview(document)[second_start:])
    digest = signed.digest()
    if digest.hex() != expected_digest:
        raise HelperError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "digest_mismatch",
            "the document received is not the one whose digest the page asks to have signed",
        )
    original_sha256 = hashlib.sha256(memoryview(document)[:original_size]).hexdigest()
    if original_sha256 != expected_sha256:
        raise HelperError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "document_mismatch",
            "the document received does not begin with the file the page names",
        )
    facts = DocumentFacts(
        file_name=name,
        original_size=original_size,
        original_sha256=original_sha256,
        added_bytes=len(document) - original_size,
        signed_digest=digest.hex(),
    )
    return facts, digest


def sign_document(
    open_card: CardOpener, pin_source: PinSource, origin: str, facts: DocumentFacts, digest: bytes
) -> SignedDocument:
    """Sign a PDF's CMS signed attributes with the card: the helper builds them itself (PAdES: content type,
    message digest = ``digest``, which :func:`check_document_request` computed from the document, and
    signing-certificate-v2 of this card's certificate), so the card only ever signs that structure, never bytes a
    page chose. The prompt names the site, the file, and the digests the helper computed."""
    from anchorid.signing.pdf import signed_attributes

    prompt = document_prompt(origin, facts)
    with card_refusals(), open_card() as card:
        if not card.status().has_signature_certificate:
            raise HelperError(HTTPStatus.CONFLICT, "no_signature_certificate", "this card has no signature certificate")
        pin = _signature_pin(pin_source, prompt)
        certificate = card.read_signature_certificate(pin)
        attributes = signed_attributes(digest, certificate)
        signature = card.sign(attributes, pin=pin)
    return SignedDocument(certificate.public_bytes(serialization.Encoding.DER), attributes, signature)


#: The consent documents this helper agrees to sign (jlis's attribute consent, docs/lifecycle.md).
CONSENT_DOCUMENT_TYPE = "anchorid.jlis.attribute-consent/1"
CONSENT_FIELDS = frozenset({"type", "operator", "purpose", "signed_at", "platform", "nonce"})
#: A guardian's request to J-LIS (issue #18 §1): the same shape plus the child's authentication certificate serial.
GUARDIAN_DOCUMENT_TYPE = "anchorid.jlis.guardian-request/1"
GUARDIAN_FIELDS = CONSENT_FIELDS | {"child_certificate_serial"}


def check_consent_request(body: dict[str, Any], origin: str) -> tuple[str, dict[str, str]]:
    """The consent document of a ``/v1/sign-consent`` request, parsed, or a refusal: only a J-LIS attribute
    consent naming this helper's idp origin, with nothing but the known fields, all text."""
    document = body.get("document")
    if not isinstance(document, str) or len(document) > MAX_REQUEST_BYTES:
        raise HelperError(HTTPStatus.BAD_REQUEST, "bad_request", 'send {"document": "..."}')
    try:
        parsed = untrusted_json.loads(document)
    except ValueError:
        raise HelperError(HTTPStatus.BAD_REQUEST, "bad_request", "the consent document is not JSON") from None
    fields = GUARDIAN_FIELDS if isinstance(parsed, dict) and parsed.get("type") == GUARDIAN_DOCUMENT_TYPE else None
    if (
        not isinstance(parsed, dict)
        or parsed.get("type") not in (CONSENT_DOCUMENT_TYPE, GUARDIAN_DOCUMENT_TYPE)
        or set(parsed) != (fields or CONSENT_FIELDS)
        or not all(isinstance(value, str) and value.isprintable() for value in parsed.values())
    ):
        raise HelperError(HTTPStatus.BAD_REQUEST, "bad_request", "this is not an AnchorID attribute consent")
    if parsed["platform"] != origin:
        raise HelperError(HTTPStatus.FORBIDDEN, "origin_mismatch", f"the consent is not for {origin}")
    return document, parsed


def sign_consent(
    open_card: CardOpener, pin_source: PinSource, origin: str, document: str, parsed: dict[str, str]
) -> SignedChallenge:
    """Sign the consent document's exact bytes with the card, after a prompt naming the operator and purpose."""
    if parsed["type"] == GUARDIAN_DOCUMENT_TYPE:
        prompt = guardian_prompt(origin, parsed["operator"], parsed["child_certificate_serial"])
    else:
        prompt = consent_prompt(origin, parsed["operator"], parsed["purpose"])
    with card_refusals(), open_card() as card:
        if not card.status().has_signature_certificate:
            raise HelperError(HTTPStatus.CONFLICT, "no_signature_certificate", "this card has no signature certificate")
        pin = _signature_pin(pin_source, prompt)
        certificate = card.read_signature_certificate(pin)
        signature = card.sign(document.encode("utf-8"), pin=pin)
    return SignedChallenge(certificate.public_bytes(serialization.Encoding.DER), signature)


def terminal_pin_source(prompt_line: str) -> str | None:
    """Ask on the controlling terminal, without echo (the PIN is never printed or logged)."""
    print(prompt_line, file=sys.stderr, flush=True)
    try:
        return getpass.getpass("signature password (6-16 characters, empty to cancel): ")
    except (EOFError, KeyboardInterrupt):
        return None


def stdin_pin_source(prompt_line: str) -> str | None:
    """``--pin-stdin``: one line of standard input per request (scripts and tests)."""
    print(prompt_line + " Reading the signature password from standard input.", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    return line.rstrip("\r\n") or None


# --- the localhost server -----------------------------------------------------------------------------------


class CardHelperServer(ThreadingHTTPServer):
    """Serve the helper protocol on 127.0.0.1:``port`` (0: any free port; see ``server_port``)."""

    daemon_threads = True

    def __init__(self, *, port: int, idp_origin: str, open_card: CardOpener, pin_source: PinSource) -> None:
        self.idp_origin = normalize_origin(idp_origin)
        self.open_card = open_card
        self.pin_source = pin_source
        self.card_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: CardHelperServer
    server_version = HELPER_NAME
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        # Method, path and status only: never a body (a challenge, a certificate).
        print(
            f"card-helper: {self.command} {self.path.split('?')[0]} {args[1] if len(args) > 1 else ''}", file=sys.stderr
        )

    def _send(self, status: int, body: dict[str, Any] | None, *, cors: bool) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if cors:
            self.send_header("Access-Control-Allow-Origin", self.server.idp_origin)
            self.send_header("Vary", "Origin")
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if data:
            self.wfile.write(data)

    def _refuse(self, error: HelperError, *, cors: bool) -> None:
        self._send(error.status, error.as_json(), cors=cors)

    def _check_host_and_origin(self) -> bool:
        host = (self.headers.get("Host") or "").lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name not in LOOPBACK_HOSTS:
            self._refuse(HelperError(HTTPStatus.FORBIDDEN, "bad_host", "only loopback host names"), cors=False)
            return False
        if self.headers.get("Origin") != self.server.idp_origin:
            self._refuse(
                HelperError(HTTPStatus.FORBIDDEN, "origin_not_allowed", "this helper serves another site"),
                cors=False,
            )
            return False
        return True

    def do_OPTIONS(self) -> None:
        if not self._check_host_and_origin():
            return
        self.send_response(HTTPStatus.NO_CONTENT)
        self.send_header("Access-Control-Allow-Origin", self.server.idp_origin)
        self.send_header("Access-Control-Allow-Methods", "GET, POST")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Access-Control-Max-Age", str(PREFLIGHT_MAX_AGE_SECONDS))
        if self.headers.get("Access-Control-Request-Private-Network") == "true":
            # Private Network Access: a public page may reach this loopback server only when it says so.
            self.send_header("Access-Control-Allow-Private-Network", "true")
        self.send_header("Vary", "Origin")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        if not self._check_host_and_origin():
            return
        if self.path != "/v1/status":
            self._refuse(HelperError(HTTPStatus.NOT_FOUND, "not_found", "unknown path"), cors=True)
            return
        self._send(HTTPStatus.OK, {"helper": HELPER_NAME, "protocol": PROTOCOL_VERSION}, cors=True)

    def _with_card(self, sign: Callable[[], SignedChallenge | SignedDocument]) -> SignedChallenge | SignedDocument:
        """Run ``sign`` holding the card, or refuse ``busy``: one request uses the card at a time."""
        if not self.server.card_lock.acquire(blocking=False):
            raise HelperError(HTTPStatus.CONFLICT, "busy", "another request is using the card")
        try:
            return sign()
        finally:
            self.server.card_lock.release()

    def _sign_document(self, query: str) -> None:
        """``POST /v1/sign-document?file_name=…&original_size=…&document_sha256=…&document_digest=…`` with the
        prepared PDF itself as the body (``Content-Type: application/pdf``)."""
        try:
            if (self.headers.get("Content-Type") or "").split(";")[0].strip().lower() != "application/pdf":
                raise HelperError(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "bad_request", "send the PDF as Content-Type: application/pdf"
                )
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 < length <= MAX_DOCUMENT_BYTES:
                raise HelperError(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE if length > 0 else HTTPStatus.BAD_REQUEST,
                    "bad_request",
                    f"send the PDF (at most {MAX_DOCUMENT_BYTES} bytes) as the body",
                )
            document = self.rfile.read(length)
            if len(document) != length:
                raise HelperError(HTTPStatus.BAD_REQUEST, "bad_request", "the body ended early")
            facts, digest = check_document_request(query, document)
            signed = self._with_card(
                lambda: sign_document(
                    self.server.open_card, self.server.pin_source, self.server.idp_origin, facts, digest
                )
            )
        except HelperError as error:
            self.close_connection = True  # a refused body may not have been read
            self._refuse(error, cors=True)
            return
        self._send(HTTPStatus.OK, signed.as_json(), cors=True)

    def do_POST(self) -> None:
        if not self._check_host_and_origin():
            return
        path, _, query = self.path.partition("?")
        if path not in ("/v1/sign", "/v1/sign-document", "/v1/sign-consent"):
            self._refuse(HelperError(HTTPStatus.NOT_FOUND, "not_found", "unknown path"), cors=True)
            return
        if path == "/v1/sign-document":
            self._sign_document(query)
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_REQUEST_BYTES:
            self._refuse(HelperError(HTTPStatus.BAD_REQUEST, "bad_request", "send a small JSON body"), cors=True)
            return
        try:
            body = untrusted_json.loads(self.rfile.read(length))
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            self._refuse(HelperError(HTTPStatus.BAD_REQUEST, "bad_request", "the body is not JSON"), cors=True)
            return
        try:
            server = self.server
            signed: SignedChallenge | SignedDocument
            if path == "/v1/sign-consent":
                consent = check_consent_request(body, server.idp_origin)
                signed = self._with_card(
                    lambda: sign_consent(server.open_card, server.pin_source, server.idp_origin, *consent)
                )
            else:
                challenge = check_challenge(body.get("challenge"), server.idp_origin)
                signed = self._with_card(
                    lambda: sign_challenge(server.open_card, server.pin_source, challenge, server.idp_origin)
                )
        except HelperError as error:
            self._refuse(error, cors=True)
            return
        self._send(HTTPStatus.OK, signed.as_json(), cors=True)


# --- cross-device ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CrossDeviceResult:
    ok: bool
    message: str
    outcome: str = ""
    error: str = ""


def parse_code(code_or_url: str, idp: str | None) -> tuple[str, str]:
    """(idp origin, code) from ``--code CODE --idp URL`` or from the QR code's URL alone."""
    if code_or_url.startswith(("http://", "https://")):
        parts = urlsplit(code_or_url)
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) != 3 or segments[:2] != ["onboarding", "device"]:
            raise ValueError("the URL is not an onboarding code URL (…/onboarding/device/CODE/)")
        return normalize_origin(code_or_url), segments[2]
    if not idp:
        raise ValueError("--code needs --idp URL (or pass the URL from the QR code as --code)")
    return normalize_origin(idp), code_or_url.replace("-", "").replace(" ", "").upper()


def complete_with_code(
    code_or_url: str, idp: str | None, open_card: CardOpener, pin_source: PinSource
) -> CrossDeviceResult:
    """Fetch the challenge the code names, sign it with the card, post it: the browser showing the code logs in."""
    origin, code = parse_code(code_or_url, idp)
    url = f"{origin}/onboarding/device/{code}/"
    try:
        reply = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS)
        answer = untrusted_json.loads(reply.content)
    except (requests.RequestException, ValueError) as error:
        return CrossDeviceResult(False, f"cannot reach {origin}: {error.__class__.__name__}", error="unreachable")
    if reply.status_code != HTTPStatus.OK or not isinstance(answer, dict):
        return CrossDeviceResult(False, str(answer.get("message", "refused")), error=str(answer.get("error", "")))
    try:
        challenge = check_challenge(answer.get("challenge"), origin)
        signed = sign_challenge(open_card, pin_source, challenge, origin)
    except HelperError as error:
        return CrossDeviceResult(False, error.message, error=error.code)
    try:
        reply = requests.post(url, json={"challenge": challenge, **signed.as_json()}, timeout=HTTP_TIMEOUT_SECONDS)
        answer = untrusted_json.loads(reply.content)
    except (requests.RequestException, ValueError) as error:
        return CrossDeviceResult(False, f"cannot reach {origin}: {error.__class__.__name__}", error="unreachable")
    if not isinstance(answer, dict):
        return CrossDeviceResult(False, "the idp answered something unexpected", error="unexpected")
    if reply.status_code >= HTTPStatus.BAD_REQUEST:
        return CrossDeviceResult(False, str(answer.get("message", "")), error=str(answer.get("error", "")))
    return CrossDeviceResult(True, str(answer.get("message", "")), outcome=str(answer.get("outcome", "")))
