"""Verify a JPKI signature and validate a JPKI certificate: chain, profile, validity and revocation.

- :func:`verify_signature`: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2). The card's COMPUTE DIGITAL
  SIGNATURE signs a DigestInfo the client built (jpki-reference.md §2), which is exactly PKCS#1 v1.5 over the
  data's SHA-256 digest, so an ordinary PKCS#1 v1.5 verification checks it.
- :func:`validate_certificate`: path validation by pyhanko-certvalidator (RFC 5280 §6, not hand-written) from
  the certificate to the configured roots of its own hierarchy (§1.1), with revocation hard-fail: OCSP
  (RFC 6960) fetched from a *configured* responder URL -- JPKI end-entity certificates carry no AIA (§1.2) --
  with a nonce (RFC 8954), or a CRL (RFC 5280 §5) passed in or fetched. The OCSP response may be signed by a
  delegated responder certificate (RFC 6960 §4.2.2.2); pyhanko-certvalidator validates it. ``at`` validates at
  a point in time (e.g. when a signature was made).

Revocation lookup keys on the X.509 serialNumber (UNCONFIRMED that it is J-LIS's 発行番号; §1.2).
"""

from __future__ import annotations

import asyncio
import enum
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator._state import ValProcState
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InsufficientRevinfoError,
    InvalidCertificateError,
    NotYetValidError,
    OCSPValidationError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.revinfo.validate_ocsp import verify_ocsp_response
from pyhanko_certvalidator.util import ConsList

from anchorid.jpki.certificates import (
    AuthCertificate,
    ProfileViolation,
    SignatureCertificate,
    kind_of,
    parse_auth_certificate,
    parse_signature_certificate,
)
from anchorid.jpki.profiles import CertKind
from anchorid.jpki.trust import TrustAnchors

OCSP_REQUEST_CONTENT_TYPE = "application/ocsp-request"
OCSP_RESPONSE_CONTENT_TYPE = "application/ocsp-response"
#: RFC 8954 §2.1: a nonce of 1 to 32 octets; 32 leaves no room to guess.
OCSP_NONCE_BYTES = 32
DEFAULT_HTTP_TIMEOUT_SECONDS = 5.0
#: Key usages a JPKI end-entity certificate must allow for its purpose (§1.2).
_REQUIRED_KEY_USAGE = {
    CertKind.SIGNATURE: {"digital_signature", "non_repudiation"},
    CertKind.AUTHENTICATION: {"digital_signature"},
}


class SignatureInvalid(ValueError):
    """The signature does not verify under the certificate's public key."""


def _rsa_key(certificate: x509.Certificate) -> rsa.RSAPublicKey:
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureInvalid("the certificate does not carry an RSA key")
    return key


def verify_signature(certificate: x509.Certificate, data: bytes, signature: bytes) -> None:
    """Check an RSASSA-PKCS1-v1_5 / SHA-256 signature over ``data``; raise :class:`SignatureInvalid` if not."""
    try:
        _rsa_key(certificate).verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise SignatureInvalid("the signature does not verify under the certificate's key") from None


# --- revocation sources -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OcspResponder:
    """Ask a configured OCSP responder (POST ``application/ocsp-request``) with a fresh nonce.

    ``require_nonce``: J-LIS may pre-sign responses (no nonce echoed); by default a missing nonce is accepted
    (freshness then rests on thisUpdate/nextUpdate), a *different* nonce never is.
    """

    url: str
    timeout: float = DEFAULT_HTTP_TIMEOUT_SECONDS
    require_nonce: bool = False


@dataclass(frozen=True, slots=True)
class StoredOcspResponses:
    """DER OCSP responses already at hand (e.g. embedded in a signed PDF for point-in-time validation)."""

    responses: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Crls:
    """CRLs passed in (DER or PEM bytes) and/or fetched from URLs with HTTP GET."""

    crls: tuple[bytes, ...] = ()
    urls: tuple[str, ...] = ()
    timeout: float = DEFAULT_HTTP_TIMEOUT_SECONDS


RevocationSource = OcspResponder | StoredOcspResponses | Crls


# --- result -------------------------------------------------------------------------------------------------


class ValidationFailure(enum.Enum):
    """Why a certificate was not accepted. Values are stable: store and compare them."""

    #: No configured root issued it (unknown issuer DN, or no path to a trusted root).
    UNTRUSTED_ISSUER = "untrusted_issuer"
    #: It belongs to the other hierarchy (a signature certificate checked as auth, or the reverse).
    WRONG_HIERARCHY = "wrong_hierarchy"
    #: The issuer's signature on the certificate does not verify (tampered or forged).
    SIGNATURE = "signature"
    #: It breaks the JPKI profile (see ``profile_rule``) or lacks the key usage its purpose needs.
    PROFILE = "profile"
    REVOKED = "revoked"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    #: The responder does not know the certificate (OCSP ``unknown``).
    REVOCATION_UNKNOWN = "revocation_unknown"
    #: Revocation status could not be established (unreachable, error, bad or stale response): fail closed.
    REVOCATION_UNAVAILABLE = "revocation_unavailable"
    #: Any other path-validation failure reported by pyhanko-certvalidator.
    PATH_INVALID = "path_invalid"


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """The outcome of :func:`validate_certificate`; when ``ok`` is false, ``failure`` and ``message`` say why."""

    ok: bool
    kind: CertKind
    failure: ValidationFailure | None = None
    message: str = ""
    profile_rule: str | None = None
    revocation_reason: x509.ReasonFlags | None = None
    revocation_time: datetime | None = None
    parsed: SignatureCertificate | AuthCertificate | None = None
    #: The validated path, end-entity certificate first and trust anchor last.
    path: tuple[x509.Certificate, ...] = ()

    @classmethod
    def failed(
        cls,
        kind: CertKind,
        failure: ValidationFailure,
        message: str,
        *,
        profile_rule: str | None = None,
        revocation_reason: x509.ReasonFlags | None = None,
        revocation_time: datetime | None = None,
        parsed: SignatureCertificate | AuthCertificate | None = None,
    ) -> ValidationResult:
        return cls(
            ok=False,
            kind=kind,
            failure=failure,
            message=message,
            profile_rule=profile_rule,
            revocation_reason=revocation_reason,
            revocation_time=revocation_time,
            parsed=parsed,
        )


class RevocationUnavailable(Exception):
    """Internal: revocation data could not be obtained; becomes ``REVOCATION_UNAVAILABLE``."""


# --- fetching -----------------------------------------------------------------------------------------------


def build_ocsp_request(certificate: x509.Certificate, issuer: x509.Certificate) -> tuple[bytes, bytes]:
    """A DER OCSP request for one certificate (CertID with SHA-1, as RFC 5019 §2.1.1 profiles it) and its nonce."""
    nonce = os.urandom(OCSP_NONCE_BYTES)
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(certificate, issuer, hashes.SHA1())  # noqa: S303 - CertID hash, not a signature
        .add_extension(x509.OCSPNonce(nonce), critical=False)
        .build()
    )
    return request.public_bytes(serialization.Encoding.DER), nonce


def fetch_ocsp_response(
    certificate: x509.Certificate, issuer: x509.Certificate, responder: OcspResponder
) -> tuple[bytes, ocsp.OCSPResponse]:
    """POST the request; check status ``successful``, the serial and the nonce. Raises RevocationUnavailable."""
    body, nonce = build_ocsp_request(certificate, issuer)
    try:
        reply = requests.post(
            responder.url,
            data=body,
            headers={"Content-Type": OCSP_REQUEST_CONTENT_TYPE, "Accept": OCSP_RESPONSE_CONTENT_TYPE},
            timeout=responder.timeout,
        )
    except requests.RequestException as error:
        raise RevocationUnavailable(f"OCSP responder {responder.url} unreachable: {error}") from None
    if reply.status_code != requests.codes.ok:
        raise RevocationUnavailable(f"OCSP responder {responder.url} answered HTTP {reply.status_code}")
    try:
        response = ocsp.load_der_ocsp_response(reply.content)
    except ValueError as error:
        raise RevocationUnavailable(f"OCSP responder sent an unparseable response: {error}") from None
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise RevocationUnavailable(f"OCSP responder answered {response.response_status.name}")
    if response.serial_number != certificate.serial_number:
        raise RevocationUnavailable("OCSP response is about another certificate")
    try:
        echoed = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        if responder.require_nonce:
            raise RevocationUnavailable("OCSP response carries no nonce") from None
    else:
        if echoed != nonce:
            raise RevocationUnavailable("OCSP response nonce does not match the request (replay?)")
    return reply.content, response


def fetch_crl(url: str, timeout: float) -> bytes:
    """GET a CRL (DER or PEM). Raises RevocationUnavailable."""
    try:
        reply = requests.get(url, timeout=timeout)
    except requests.RequestException as error:
        raise RevocationUnavailable(f"CRL at {url} unreachable: {error}") from None
    if reply.status_code != requests.codes.ok:
        raise RevocationUnavailable(f"CRL at {url}: HTTP {reply.status_code}")
    return reply.content


def _crl_der(data: bytes) -> bytes:
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data).public_bytes(serialization.Encoding.DER)
        return x509.load_der_x509_crl(data).public_bytes(serialization.Encoding.DER)
    except ValueError as error:
        raise RevocationUnavailable(f"CRL does not parse: {error}") from None


# --- validation ---------------------------------------------------------------------------------------------


def _issuing_anchors(certificate: x509.Certificate, anchors: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    named = [anchor for anchor in anchors if anchor.subject == certificate.issuer]
    verified: list[x509.Certificate] = []
    for anchor in named:
        try:
            certificate.verify_directly_issued_by(anchor)
        except (ValueError, TypeError, InvalidSignature):
            continue
        verified.append(anchor)
    return verified


def _revocation_reason(error: RevokedError) -> x509.ReasonFlags | None:
    native = error.reason.native if error.reason is not None else None
    if not isinstance(native, str):
        return None
    try:
        return x509.ReasonFlags[native]
    except KeyError:
        return None


def _parse(certificate: x509.Certificate, kind: CertKind) -> SignatureCertificate | AuthCertificate:
    if kind is CertKind.SIGNATURE:
        return parse_signature_certificate(certificate)
    return parse_auth_certificate(certificate)


def _revocation_inputs(
    certificate: x509.Certificate, issuer: x509.Certificate, revocation: RevocationSource
) -> tuple[list[bytes] | None, list[bytes] | None, RevocationCheckingRule, ocsp.OCSPResponse | None]:
    """(ocsps, crls, rule, parsed OCSP response) for pyhanko-certvalidator.

    With OCSP the path-validation rule is NO_CHECK and :func:`_run_pyhanko` checks OCSP separately: pyhanko only
    consults OCSP for certificates that declare a responder in AIA, and JPKI end-entity certificates declare none.
    """
    if isinstance(revocation, OcspResponder):
        der, response = fetch_ocsp_response(certificate, issuer, revocation)
        return [der], None, RevocationCheckingRule.NO_CHECK, response
    if isinstance(revocation, StoredOcspResponses):
        return list(revocation.responses), None, RevocationCheckingRule.NO_CHECK, None
    crls = [_crl_der(data) for data in revocation.crls]
    crls += [_crl_der(fetch_crl(url, revocation.timeout)) for url in revocation.urls]
    if not crls:
        raise RevocationUnavailable("no CRL was given or fetched")
    return None, crls, RevocationCheckingRule.CRL_REQUIRED, None


@dataclass(frozen=True, slots=True)
class _Prepared:
    parsed: SignatureCertificate | AuthCertificate
    roots: tuple[x509.Certificate, ...]
    issuer: x509.Certificate


def _prepare(certificate: x509.Certificate, anchors: TrustAnchors, kind: CertKind) -> _Prepared | ValidationResult:
    """The checks before revocation: hierarchy, profile, a configured root issued it (by signature)."""
    try:
        actual_kind = kind_of(certificate)
    except ProfileViolation as error:
        return ValidationResult.failed(kind, ValidationFailure.UNTRUSTED_ISSUER, str(error), profile_rule=error.rule)
    if actual_kind is not kind:
        return ValidationResult.failed(
            kind,
            ValidationFailure.WRONG_HIERARCHY,
            f"a {actual_kind.value} certificate cannot be validated as {kind.value}: the hierarchies are separate",
        )
    try:
        parsed = _parse(certificate, kind)
    except ProfileViolation as error:
        return ValidationResult.failed(kind, ValidationFailure.PROFILE, str(error), profile_rule=error.rule)
    roots = anchors.for_kind(kind)
    if not any(root.subject == certificate.issuer for root in roots):
        return ValidationResult.failed(
            kind,
            ValidationFailure.UNTRUSTED_ISSUER,
            f"no configured {kind.value} root is named {certificate.issuer.rfc4514_string()}",
        )
    issuers = _issuing_anchors(certificate, roots)
    if not issuers:
        return ValidationResult.failed(
            kind,
            ValidationFailure.SIGNATURE,
            "the certificate's signature verifies under no configured root of its hierarchy (tampered or forged)",
            parsed=parsed,
        )
    return _Prepared(parsed=parsed, roots=roots, issuer=issuers[0])


async def async_validate_certificate(
    certificate: x509.Certificate,
    anchors: TrustAnchors,
    kind: CertKind,
    *,
    revocation: RevocationSource,
    at: datetime | None = None,
) -> ValidationResult:
    """:func:`validate_certificate` for callers already inside an event loop (HTTP fetches run in a thread)."""
    prepared = _prepare(certificate, anchors, kind)
    if isinstance(prepared, ValidationResult):
        return prepared
    try:
        ocsps, crls, rule, response = await asyncio.to_thread(
            _revocation_inputs, certificate, prepared.issuer, revocation
        )
    except RevocationUnavailable as error:
        return ValidationResult.failed(
            kind, ValidationFailure.REVOCATION_UNAVAILABLE, str(error), parsed=prepared.parsed
        )
    if response is not None and response.certificate_status is ocsp.OCSPCertStatus.UNKNOWN:
        return ValidationResult.failed(
            kind,
            ValidationFailure.REVOCATION_UNKNOWN,
            "the OCSP responder does not know this certificate",
            parsed=prepared.parsed,
        )
    moment = at if at is not None else datetime.now(UTC)
    return await _run_pyhanko(certificate, prepared, kind, moment, at is not None, ocsps, crls, rule)


def validate_certificate(
    certificate: x509.Certificate,
    anchors: TrustAnchors,
    kind: CertKind,
    *,
    revocation: RevocationSource,
    at: datetime | None = None,
) -> ValidationResult:
    """Validate a JPKI end-entity certificate of ``kind`` at ``at`` (default: now); never raises for bad input.

    Order: hierarchy (issuer DN) → profile (``parse_*_certificate``) → a configured root of that hierarchy
    issued it (by signature) → revocation data obtained (fail closed) → pyhanko-certvalidator path validation
    with that data, the key usage the purpose needs, and validity at ``at``. Not for use inside a running event
    loop: use :func:`async_validate_certificate` there.
    """
    return asyncio.run(async_validate_certificate(certificate, anchors, kind, revocation=revocation, at=at))


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    """pyhanko-certvalidator works on asn1crypto objects (its docstring's "bytes" for trust roots is not honoured)."""
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


async def _run_pyhanko(
    certificate: x509.Certificate,
    prepared: _Prepared,
    kind: CertKind,
    moment: datetime,
    point_in_time: bool,
    ocsps: list[bytes] | None,
    crls: list[bytes] | None,
    rule: RevocationCheckingRule,
) -> ValidationResult:
    policy = CertRevTrustPolicy(
        RevocationCheckingPolicy(ee_certificate_rule=rule, intermediate_ca_cert_rule=RevocationCheckingRule.NO_CHECK),
        # For a past moment, revocation data issued later still proves the state at that moment: JPKI holds are
        # never released (a lost card needs re-issuance), so "not revoked now" implies "not revoked then".
        retroactive_revinfo=point_in_time,
    )
    context = ValidationContext(
        trust_roots=[_asn1(root) for root in prepared.roots],
        moment=moment if point_in_time else None,
        allow_fetching=False,
        ocsps=ocsps,
        crls=crls,
        revinfo_policy=policy,
    )
    end_entity = _asn1(certificate)
    validator = CertificateValidator(end_entity, validation_context=context)
    parsed = prepared.parsed
    try:
        path = await validator.async_validate_usage(_REQUIRED_KEY_USAGE[kind])  # type: ignore[no-untyped-call]
        if ocsps is not None:
            # Same checks pyhanko applies in-path (RFC 6960 §3.2: CertID match, signature, delegated responder
            # authorised by the issuing CA, freshness, status), called directly because JPKI certs have no AIA.
            # proc_state only names the certificate in messages ("the JPKI signature certificate was revoked").
            state = ValProcState(
                cert_path_stack=ConsList.sing(path),
                init_index=path.pkix_len,
                ee_name_override=f"JPKI {kind.value} certificate {certificate.serial_number:#x}",
            )
            await verify_ocsp_response(end_entity, path, context, proc_state=state)
    except RevokedError as error:
        return ValidationResult.failed(
            kind,
            ValidationFailure.REVOKED,
            str(error),
            revocation_reason=_revocation_reason(error),
            revocation_time=error.revocation_dt,
            parsed=parsed,
        )
    except ExpiredError as error:
        return ValidationResult.failed(kind, ValidationFailure.EXPIRED, str(error), parsed=parsed)
    except NotYetValidError as error:
        return ValidationResult.failed(kind, ValidationFailure.NOT_YET_VALID, str(error), parsed=parsed)
    except (InsufficientRevinfoError, OCSPValidationError) as error:
        return ValidationResult.failed(kind, ValidationFailure.REVOCATION_UNAVAILABLE, str(error), parsed=parsed)
    except PathBuildingError as error:
        return ValidationResult.failed(kind, ValidationFailure.UNTRUSTED_ISSUER, str(error), parsed=parsed)
    except InvalidCertificateError as error:
        return ValidationResult.failed(kind, ValidationFailure.PROFILE, str(error), parsed=parsed)
    except (PathValidationError, ValidationError) as error:
        return ValidationResult.failed(kind, ValidationFailure.PATH_INVALID, str(error), parsed=parsed)
    # pyhanko yields root first; report leaf first, root last (RFC 5280 §6.1 numbering reversed).
    chain = tuple(x509.load_der_x509_certificate(item.dump()) for item in path.iter_certs(include_root=True))[::-1]
    return ValidationResult(ok=True, kind=kind, message="valid", parsed=parsed, path=chain)
