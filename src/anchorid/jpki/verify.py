"""Verify a JPKI signature and validate a JPKI certificate: chain, profile, validity and revocation.

- :func:`verify_signature`: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2). The card's COMPUTE DIGITAL
  SIGNATURE signs a DigestInfo the client built (jpki-reference.md §2), which is exactly PKCS#1 v1.5 over the
  data's SHA-256 digest, so an ordinary PKCS#1 v1.5 verification checks it.
- :func:`validate_certificate`: path validation by cryptography's X.509 verifier (``cryptography.x509.verification``,
  RFC 5280 path building in Rust, not hand-written) from the certificate to the configured roots of its own
  hierarchy (§1.1), with extension policies written for the JPKI profile, and revocation hard-fail: OCSP
  (RFC 6960) fetched from a *configured* responder URL -- JPKI end-entity certificates carry no AIA (§1.2) --
  with a nonce (RFC 8954), OCSP responses at hand, or a CRL (RFC 5280 §5) passed in or fetched. The OCSP
  response is checked here (RFC 6960 §3.2): CertID, signature by the issuing CA or by a delegated responder
  certificate that CA issued with id-kp-OCSPSigning (§4.2.2.2, the certificate validated by the same verifier),
  freshness, nonce. ``at`` validates at a point in time (e.g. when a signature was made).

Revocation lookup keys on the X.509 serialNumber (UNCONFIRMED that it is J-LIS's 発行番号; §1.2).
"""

from __future__ import annotations

import asyncio
import enum
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, SignatureAlgorithmOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from anchorid.common import request_id
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
#: Clock difference tolerated between us and the OCSP responder / CRL issuer.
CLOCK_SKEW = timedelta(minutes=5)
#: Validating now, an OCSP response must have been produced (thisUpdate) at most this long ago, whatever its
#: nextUpdate says; also the validity assumed for a response without nextUpdate. The simulated J-LIS signs
#: responses for one hour; the real one refreshes its responder data every 15 minutes.
OCSP_MAX_AGE = timedelta(hours=1)
#: The CertID hash of the requests we send (RFC 5019 §2.1.1).
OCSP_CERT_ID_HASH = hashes.SHA1
#: Hashes accepted in the signature of an OCSP response (SHA-1 and MD5 signatures are refused).
_OCSP_SIGNATURE_HASHES = (hashes.SHA224, hashes.SHA256, hashes.SHA384, hashes.SHA512)
_RSA_PSS_OID = SignatureAlgorithmOID.RSASSA_PSS
_SIGNING_KEYS = (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)


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
    #: Any other path-validation failure reported by cryptography's X.509 verifier.
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


# --- HTTP ----------------------------------------------------------------------------------------------------

_http = threading.local()


def _session() -> requests.Session:
    """A ``requests.Session`` per thread and process: kept-alive connections to jlis, never shared by threads
    (a Session is not documented as thread-safe) nor inherited over a fork (the child would share the sockets)."""
    owner: tuple[int, requests.Session] | None = getattr(_http, "owner", None)
    if owner is None or owner[0] != os.getpid():
        owner = (os.getpid(), requests.Session())
        _http.owner = owner
    return owner[1]


def _request(method: str, url: str, timeout: float, body: bytes | None = None) -> requests.Response:
    headers = (
        {"Content-Type": OCSP_REQUEST_CONTENT_TYPE, "Accept": OCSP_RESPONSE_CONTENT_TYPE} if body is not None else {}
    )
    headers.update(request_id.outgoing_headers())  # a server's request id goes on to the responder (its logs)
    session = _session()
    try:
        return session.request(method, url, data=body, headers=headers, timeout=timeout)
    except requests.ConnectionError as error:
        if isinstance(error, requests.Timeout):
            raise
        # A kept-alive connection the server had closed meanwhile: try once more on a fresh one.
        return session.request(method, url, data=body, headers=headers, timeout=timeout)


# --- fetching -----------------------------------------------------------------------------------------------


def build_ocsp_request(certificate: x509.Certificate, issuer: x509.Certificate) -> tuple[bytes, bytes]:
    """A DER OCSP request for one certificate (CertID with SHA-1, as RFC 5019 §2.1.1 profiles it) and its nonce."""
    nonce = os.urandom(OCSP_NONCE_BYTES)
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(certificate, issuer, OCSP_CERT_ID_HASH())  # CertID hash, not a signature
        .add_extension(x509.OCSPNonce(nonce), critical=False)
        .build()
    )
    return request.public_bytes(serialization.Encoding.DER), nonce


def fetch_ocsp_response(
    certificate: x509.Certificate, issuer: x509.Certificate, responder: OcspResponder
) -> tuple[bytes, ocsp.OCSPResponse]:
    """POST the request; check status ``successful``, the CertID and the nonce. Raises RevocationUnavailable.

    The signature, the responder and freshness are checked by :func:`validate_certificate`, not here.
    """
    body, nonce = build_ocsp_request(certificate, issuer)
    try:
        reply = _request("POST", responder.url, responder.timeout, body)
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
    _single_response(response, certificate, issuer, OCSP_CERT_ID_HASH())
    try:
        echoed = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        if responder.require_nonce:
            raise RevocationUnavailable("OCSP response carries no nonce") from None
    except ValueError as error:
        raise RevocationUnavailable(f"OCSP response extensions do not parse: {error}") from None
    else:
        if echoed != nonce:
            raise RevocationUnavailable("OCSP response nonce does not match the request (replay?)")
    return reply.content, response


def fetch_crl(url: str, timeout: float) -> bytes:
    """GET a CRL (DER or PEM). Raises RevocationUnavailable."""
    try:
        reply = _request("GET", url, timeout)
    except requests.RequestException as error:
        raise RevocationUnavailable(f"CRL at {url} unreachable: {error}") from None
    if reply.status_code != requests.codes.ok:
        raise RevocationUnavailable(f"CRL at {url}: HTTP {reply.status_code}")
    return reply.content


def _load_crl(data: bytes) -> x509.CertificateRevocationList:
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as error:
        raise RevocationUnavailable(f"CRL does not parse: {error}") from None


class CrlScopeError(ValueError):
    """A CRL that cannot, alone, establish the revocation status of end-entity certificates; the message says why."""


def full_crl_number(crl: x509.CertificateRevocationList) -> int | None:
    """Check that ``crl`` is a complete CRL for end-entity certificates (RFC 5280 §5.2, §5.3): its extensions
    parse, it is not a delta CRL, no issuingDistributionPoint narrows its scope, no unknown extension is critical.
    Returns its cRLNumber (None when it has none); :class:`CrlScopeError` otherwise. Used here and by the idp's
    lifecycle sweep (``anchorid.idp.lifecycle.revocation_list``)."""
    try:
        extensions = crl.extensions
    except ValueError as error:
        raise CrlScopeError(f"CRL extensions do not parse: {error}") from None
    number: int | None = None
    for extension in extensions:
        value = extension.value
        if isinstance(value, x509.DeltaCRLIndicator):
            raise CrlScopeError("a delta CRL alone cannot establish revocation status")
        if isinstance(value, x509.IssuingDistributionPoint) and (
            value.only_contains_ca_certs
            or value.only_contains_attribute_certs
            or value.only_some_reasons is not None
            or value.indirect_crl
        ):
            raise CrlScopeError("CRL scope (issuingDistributionPoint) does not cover end-entity certificates")
        if isinstance(value, x509.CRLNumber):
            number = value.crl_number
        elif extension.critical and isinstance(value, x509.UnrecognizedExtension):
            raise CrlScopeError(f"CRL carries an unknown critical extension {extension.oid.dotted_string}")
    return number


# --- chain: cryptography's verifier with the JPKI profile ----------------------------------------------------


class _JpkiPolicyError(ValueError):
    """Raised by our extension validators; its name in a VerificationError marks a profile failure."""


def _ca_basic_constraints(policy: Policy, certificate: x509.Certificate, value: x509.BasicConstraints) -> None:
    if not value.ca:
        raise _JpkiPolicyError("basicConstraints of an issuer must assert cA")


def _ca_key_usage(policy: Policy, certificate: x509.Certificate, usage: x509.KeyUsage) -> None:
    if not usage.key_cert_sign:
        raise _JpkiPolicyError("the issuer's keyUsage lacks keyCertSign")


def _ee_not_ca(policy: Policy, certificate: x509.Certificate, value: x509.BasicConstraints | None) -> None:
    if value is not None and value.ca:
        raise _JpkiPolicyError("an end-entity certificate must not be a CA")


def _signature_key_usage(policy: Policy, certificate: x509.Certificate, usage: x509.KeyUsage) -> None:
    if not (usage.digital_signature and usage.content_commitment):
        raise _JpkiPolicyError("keyUsage must allow digitalSignature and nonRepudiation")


def _auth_key_usage(policy: Policy, certificate: x509.Certificate, usage: x509.KeyUsage) -> None:
    if not usage.digital_signature:
        raise _JpkiPolicyError("keyUsage must allow digitalSignature")


def _responder_key_usage(policy: Policy, certificate: x509.Certificate, usage: x509.KeyUsage | None) -> None:
    if usage is not None and not usage.digital_signature:
        raise _JpkiPolicyError("the OCSP responder's keyUsage lacks digitalSignature")


def _responder_eku(policy: Policy, certificate: x509.Certificate, usages: x509.ExtendedKeyUsage) -> None:
    if ExtendedKeyUsageOID.OCSP_SIGNING not in usages:
        raise _JpkiPolicyError("the OCSP responder certificate lacks extendedKeyUsage id-kp-OCSPSigning")


#: A JPKI root (§1.1): basicConstraints critical cA, keyUsage critical with keyCertSign.
_CA_POLICY = (
    ExtensionPolicy.permit_all()
    .require_present(x509.BasicConstraints, Criticality.CRITICAL, _ca_basic_constraints)
    .require_present(x509.KeyUsage, Criticality.CRITICAL, _ca_key_usage)
)
#: A JPKI end-entity certificate (§1.2): certificatePolicies critical, keyUsage critical as the purpose needs.
_EE_POLICY = {
    kind: ExtensionPolicy.permit_all()
    .require_present(x509.CertificatePolicies, Criticality.CRITICAL, None)
    .require_present(x509.KeyUsage, Criticality.CRITICAL, key_usage)
    .may_be_present(x509.BasicConstraints, Criticality.AGNOSTIC, _ee_not_ca)
    for kind, key_usage in (
        (CertKind.SIGNATURE, _signature_key_usage),
        (CertKind.AUTHENTICATION, _auth_key_usage),
    )
}
#: A delegated OCSP responder certificate (RFC 6960 §4.2.2.2): id-kp-OCSPSigning, not a CA.
_RESPONDER_POLICY = (
    ExtensionPolicy.permit_all()
    .require_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _responder_eku)
    .may_be_present(x509.KeyUsage, Criticality.AGNOSTIC, _responder_key_usage)
    .may_be_present(x509.BasicConstraints, Criticality.AGNOSTIC, _ee_not_ca)
)


@lru_cache(maxsize=64)
def _chain_policy(roots: tuple[x509.Certificate, ...], kind: CertKind) -> PolicyBuilder:
    """Store and extension policies for one hierarchy's roots, built once (``.time()`` is set per call)."""
    return (
        PolicyBuilder().store(Store(list(roots))).extension_policies(ca_policy=_CA_POLICY, ee_policy=_EE_POLICY[kind])
    )


@lru_cache(maxsize=64)
def _responder_policy(issuer: x509.Certificate) -> PolicyBuilder:
    """A delegated responder must be issued by the CA that issued the certificate asked about: the only anchor."""
    return PolicyBuilder().store(Store([issuer])).extension_policies(ca_policy=_CA_POLICY, ee_policy=_RESPONDER_POLICY)


# --- OCSP response checks (RFC 6960 §3.2) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Status:
    """What one piece of authenticated, fresh revocation data says about the certificate."""

    status: ocsp.OCSPCertStatus
    source: str
    revocation_time: datetime | None = None
    reason: x509.ReasonFlags | None = None


def _single_response(
    response: ocsp.OCSPResponse,
    certificate: x509.Certificate,
    issuer: x509.Certificate,
    algorithm: hashes.HashAlgorithm | None,
) -> ocsp.OCSPSingleResponse:
    """The one SingleResponse whose CertID is ours (issuer name hash, issuer key hash, serial).

    ``algorithm``: the CertID hash we asked with; ``None`` (responses at hand) accepts any CertID hash.
    """
    ours: dict[str, tuple[bytes, bytes]] = {}
    matches: list[ocsp.OCSPSingleResponse] = []
    try:
        for single in response.responses:
            try:
                used = single.hash_algorithm
            except UnsupportedAlgorithm:
                continue
            if algorithm is not None and used.name != algorithm.name:
                continue
            if single.serial_number != certificate.serial_number:
                continue
            if used.name not in ours:
                request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, used).build()
                ours[used.name] = (request.issuer_name_hash, request.issuer_key_hash)
            if (single.issuer_name_hash, single.issuer_key_hash) == ours[used.name]:
                matches.append(single)
    except ValueError as error:
        raise RevocationUnavailable(f"OCSP response does not parse: {error}") from None
    if not matches:
        raise RevocationUnavailable("OCSP response is about another certificate (no SingleResponse for our CertID)")
    if len(matches) > 1:
        raise RevocationUnavailable("OCSP response holds more than one SingleResponse for our CertID")
    return matches[0]


def _key_hash(certificate: x509.Certificate) -> bytes:
    """SHA-1 of the subjectPublicKey BIT STRING: ResponderID byKey (RFC 6960 §4.2.1)."""
    return x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest


def _is_responder(response: ocsp.OCSPResponse, certificate: x509.Certificate) -> bool:
    if response.responder_name is not None:
        return certificate.subject == response.responder_name
    try:
        return _key_hash(certificate) == response.responder_key_hash
    except (ValueError, TypeError):
        return False


def _verify_response_signature(response: ocsp.OCSPResponse, signer: x509.Certificate) -> None:
    try:
        algorithm = response.signature_hash_algorithm
    except UnsupportedAlgorithm:
        raise RevocationUnavailable("OCSP response is signed with an unsupported algorithm") from None
    key = signer.public_key()
    signature, data = response.signature, response.tbs_response_bytes
    try:
        if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, data)
            return
        if not isinstance(algorithm, _OCSP_SIGNATURE_HASHES):
            name = algorithm.name if algorithm is not None else "none"
            raise RevocationUnavailable(f"OCSP response signature uses a refused hash ({name})")
        if isinstance(key, rsa.RSAPublicKey) and response.signature_algorithm_oid != _RSA_PSS_OID:
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        else:
            raise RevocationUnavailable("OCSP response signature algorithm does not fit the signer's key")
    except InvalidSignature:
        raise RevocationUnavailable(
            f"OCSP response signature does not verify under the key of {signer.subject.rfc4514_string()}"
        ) from None


def _check_ocsp_signer(response: ocsp.OCSPResponse, issuer: x509.Certificate, moment: datetime) -> None:
    """Signed by the issuing CA itself, or by a delegated responder certificate in the response that this CA
    issued for OCSP signing (RFC 6960 §4.2.2.2), valid at ``moment`` and exempt from revocation checking."""
    if _is_responder(response, issuer):
        _verify_response_signature(response, issuer)
        return
    try:
        candidates = [included for included in response.certificates if _is_responder(response, included)]
    except ValueError as error:
        raise RevocationUnavailable(f"OCSP response certificates do not parse: {error}") from None
    if not candidates:
        raise RevocationUnavailable(
            "OCSP response is signed neither by the issuing CA nor by a responder certificate it includes"
        )
    responder = candidates[0]
    try:
        usages = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        usages = x509.ExtendedKeyUsage([])
    if ExtendedKeyUsageOID.OCSP_SIGNING not in usages:
        raise RevocationUnavailable(
            f"OCSP responder certificate {responder.subject.rfc4514_string()} lacks extendedKeyUsage id-kp-OCSPSigning"
        )
    try:
        _responder_policy(issuer).time(moment).build_client_verifier().verify(responder, [])
    except VerificationError as error:
        raise RevocationUnavailable(
            f"OCSP responder certificate {responder.subject.rfc4514_string()} is not authorised by the issuing CA: "
            f"{error}"
        ) from None
    try:
        responder.extensions.get_extension_for_class(x509.OCSPNoCheck)
    except x509.ExtensionNotFound:
        # RFC 6960 §4.2.2.2.1 leaves this to local policy: JPKI names no way to check the responder, fail closed.
        raise RevocationUnavailable(
            "OCSP responder certificate lacks id-pkix-ocsp-nocheck and its own status cannot be checked"
        ) from None
    _verify_response_signature(response, responder)


def _ocsp_status(
    response: ocsp.OCSPResponse,
    certificate: x509.Certificate,
    issuer: x509.Certificate,
    *,
    algorithm: hashes.HashAlgorithm | None,
    moment: datetime,
    now: datetime,
    point_in_time: bool,
) -> _Status:
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise RevocationUnavailable(f"OCSP response status is {response.response_status.name}")
    single = _single_response(response, certificate, issuer, algorithm)
    # A response made after ``at`` is still signed at its own production time: check the responder then.
    _check_ocsp_signer(response, issuer, response.produced_at_utc if point_in_time else now)
    this_update, next_update = single.this_update_utc, single.next_update_utc
    if this_update > now + CLOCK_SKEW:
        raise RevocationUnavailable(f"OCSP response thisUpdate {this_update.isoformat()} is in the future")
    until = next_update if next_update is not None else this_update + OCSP_MAX_AGE
    if until < moment - CLOCK_SKEW:
        raise RevocationUnavailable(
            f"OCSP response is stale: valid until {until.isoformat()}, validation time {moment.isoformat()}"
        )
    if not point_in_time and this_update < now - OCSP_MAX_AGE:
        raise RevocationUnavailable(
            f"OCSP response is not recent: thisUpdate {this_update.isoformat()} is more than {OCSP_MAX_AGE} ago"
        )
    status = single.certificate_status
    if status is ocsp.OCSPCertStatus.REVOKED:
        return _Status(status, "OCSP", single.revocation_time_utc, single.revocation_reason)
    return _Status(status, "OCSP")


# --- CRL checks (RFC 5280 §6.3) ---------------------------------------------------------------------------------


def _crl_status(
    crl: x509.CertificateRevocationList,
    certificate: x509.Certificate,
    issuer: x509.Certificate,
    *,
    moment: datetime,
    now: datetime,
) -> _Status:
    if crl.issuer != issuer.subject:
        raise RevocationUnavailable(f"CRL issued by {crl.issuer.rfc4514_string()}, not by the issuing CA")
    try:
        key = issuer.public_key()
        signed = isinstance(key, _SIGNING_KEYS) and crl.is_signature_valid(key)
    except (TypeError, ValueError, UnsupportedAlgorithm):
        signed = False
    if not signed:
        raise RevocationUnavailable("CRL signature does not verify under the issuing CA's key")
    try:
        full_crl_number(crl)
    except CrlScopeError as error:
        raise RevocationUnavailable(str(error)) from None
    last_update, next_update = crl.last_update_utc, crl.next_update_utc
    if last_update > now + CLOCK_SKEW:
        raise RevocationUnavailable(f"CRL thisUpdate {last_update.isoformat()} is in the future")
    if next_update is None:
        raise RevocationUnavailable("CRL has no nextUpdate (RFC 5280 §5.1.2.5)")
    if next_update < moment - CLOCK_SKEW:
        raise RevocationUnavailable(
            f"CRL is stale: nextUpdate {next_update.isoformat()}, validation time {moment.isoformat()}"
        )
    entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
    if entry is None:
        return _Status(ocsp.OCSPCertStatus.GOOD, "CRL")
    try:
        reason: x509.ReasonFlags | None = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except (x509.ExtensionNotFound, ValueError):
        reason = None
    return _Status(ocsp.OCSPCertStatus.REVOKED, "CRL", entry.revocation_date_utc, reason)


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


def _parse(certificate: x509.Certificate, kind: CertKind) -> SignatureCertificate | AuthCertificate:
    if kind is CertKind.SIGNATURE:
        return parse_signature_certificate(certificate)
    return parse_auth_certificate(certificate)


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


#: OCSP responses (one not parsing kept as its error) with the CertID hash we asked with (None: responses at hand).
_OcspData = tuple[list[ocsp.OCSPResponse | str], hashes.HashAlgorithm | None]
#: Revocation data obtained before path validation.
_Obtained = _OcspData | list[x509.CertificateRevocationList]


def _obtain(certificate: x509.Certificate, issuer: x509.Certificate, revocation: RevocationSource) -> _Obtained:
    """Fetch or parse the revocation data; raises RevocationUnavailable (fail closed) when there is none."""
    if isinstance(revocation, OcspResponder):
        _, response = fetch_ocsp_response(certificate, issuer, revocation)
        return [response], OCSP_CERT_ID_HASH()
    if isinstance(revocation, StoredOcspResponses):
        responses: list[ocsp.OCSPResponse | str] = []
        for der in revocation.responses:
            try:
                responses.append(ocsp.load_der_ocsp_response(der))
            except ValueError as error:
                responses.append(f"an OCSP response does not parse: {error}")
        return responses, None
    crls = [_load_crl(data) for data in revocation.crls]
    crls += [_load_crl(fetch_crl(url, revocation.timeout)) for url in revocation.urls]
    if not crls:
        raise RevocationUnavailable("no CRL was given or fetched")
    return crls


def _status(
    certificate: x509.Certificate,
    issuer: x509.Certificate,
    obtained: _Obtained,
    *,
    moment: datetime,
    now: datetime,
    point_in_time: bool,
) -> list[_Status]:
    """Every authenticated, fresh statement about the certificate; RevocationUnavailable if there is none."""
    statuses: list[_Status] = []
    problems: list[str] = []
    if isinstance(obtained, tuple):
        responses, algorithm = obtained
        for response in responses:
            if isinstance(response, str):
                problems.append(response)
                continue
            try:
                statuses.append(
                    _ocsp_status(
                        response,
                        certificate,
                        issuer,
                        algorithm=algorithm,
                        moment=moment,
                        now=now,
                        point_in_time=point_in_time,
                    )
                )
            except RevocationUnavailable as error:
                problems.append(str(error))
        if not responses:
            problems.append("no OCSP response was given")
    else:
        for crl in obtained:
            try:
                statuses.append(_crl_status(crl, certificate, issuer, moment=moment, now=now))
            except RevocationUnavailable as error:
                problems.append(str(error))
    if not statuses:
        raise RevocationUnavailable("; ".join(dict.fromkeys(problems)))
    return statuses


def _validate_path(
    certificate: x509.Certificate, prepared: _Prepared, kind: CertKind, moment: datetime
) -> tuple[x509.Certificate, ...] | ValidationResult:
    """Validity at ``moment`` (named precisely), then cryptography's verifier with the JPKI extension policies."""
    parsed = prepared.parsed
    for what, item in ((f"the JPKI {kind.value} certificate", certificate), ("its issuing root", prepared.issuer)):
        if item.not_valid_after_utc < moment:
            return ValidationResult.failed(
                kind,
                ValidationFailure.EXPIRED,
                f"{what} expired {item.not_valid_after_utc.isoformat()} (validation time {moment.isoformat()})",
                parsed=parsed,
            )
        if item.not_valid_before_utc > moment:
            return ValidationResult.failed(
                kind,
                ValidationFailure.NOT_YET_VALID,
                f"{what} is valid only from {item.not_valid_before_utc.isoformat()} "
                f"(validation time {moment.isoformat()})",
                parsed=parsed,
            )
    verifier = _chain_policy(prepared.roots, kind).time(moment).build_client_verifier()
    try:
        verified = verifier.verify(certificate, [])
    except VerificationError as error:
        failure = (
            ValidationFailure.PROFILE if _JpkiPolicyError.__name__ in str(error) else ValidationFailure.PATH_INVALID
        )
        return ValidationResult.failed(kind, failure, f"path validation failed: {error}", parsed=parsed)
    return tuple(verified.chain)


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
    issued it (by signature) → revocation data obtained (fail closed) → validity at ``at`` and path validation
    by cryptography's verifier (JPKI extension policies, the key usage the purpose needs) → the revocation data
    checked (OCSP: CertID, signer, freshness, status; CRL: signature, scope, freshness, entry).

    Point in time: revocation data produced after ``at`` still decides the state at ``at`` (JPKI holds are
    never released): revoked at or before ``at`` is ``REVOKED``, revoked after ``at`` is valid at ``at``.
    """
    prepared = _prepare(certificate, anchors, kind)
    if isinstance(prepared, ValidationResult):
        return prepared
    parsed = prepared.parsed
    now = datetime.now(UTC)
    point_in_time = at is not None
    moment = now if at is None else (at if at.tzinfo is not None else at.replace(tzinfo=UTC))
    try:
        obtained = _obtain(certificate, prepared.issuer, revocation)
    except RevocationUnavailable as error:
        return ValidationResult.failed(kind, ValidationFailure.REVOCATION_UNAVAILABLE, str(error), parsed=parsed)
    path = _validate_path(certificate, prepared, kind, moment)
    if isinstance(path, ValidationResult):
        return path
    try:
        statuses = _status(certificate, prepared.issuer, obtained, moment=moment, now=now, point_in_time=point_in_time)
    except RevocationUnavailable as error:
        return ValidationResult.failed(kind, ValidationFailure.REVOCATION_UNAVAILABLE, str(error), parsed=parsed)
    revoked = sorted(
        (
            status
            for status in statuses
            if status.status is ocsp.OCSPCertStatus.REVOKED
            and (not point_in_time or status.revocation_time is None or status.revocation_time <= moment)
        ),
        key=lambda status: status.revocation_time or moment,
    )
    if revoked:
        first = revoked[0]
        when = first.revocation_time.isoformat() if first.revocation_time is not None else "an unknown time"
        because = f" ({first.reason.value})" if first.reason is not None else ""
        return ValidationResult.failed(
            kind,
            ValidationFailure.REVOKED,
            f"the JPKI {kind.value} certificate {certificate.serial_number:#x} was revoked at {when}{because} "
            f"(per {first.source})",
            revocation_reason=first.reason,
            revocation_time=first.revocation_time,
            parsed=parsed,
        )
    if all(status.status is ocsp.OCSPCertStatus.UNKNOWN for status in statuses):
        return ValidationResult.failed(
            kind,
            ValidationFailure.REVOCATION_UNKNOWN,
            "the OCSP responder does not know this certificate",
            parsed=parsed,
        )
    return ValidationResult(ok=True, kind=kind, message="valid", parsed=parsed, path=path)


async def async_validate_certificate(
    certificate: x509.Certificate,
    anchors: TrustAnchors,
    kind: CertKind,
    *,
    revocation: RevocationSource,
    at: datetime | None = None,
) -> ValidationResult:
    """:func:`validate_certificate` for callers inside an event loop: it runs in a worker thread."""
    return await asyncio.to_thread(validate_certificate, certificate, anchors, kind, revocation=revocation, at=at)
