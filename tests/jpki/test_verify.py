"""Signature verification and certificate validation (chain, hierarchy, profile, validity, OCSP/CRL)."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from anchorid.jpki.profiles import CertKind, build_signature_certificate
from anchorid.jpki.trust import TrustAnchors
from anchorid.jpki.verify import (
    OCSP_REQUEST_CONTENT_TYPE,
    Crls,
    OcspResponder,
    SignatureInvalid,
    StoredOcspResponses,
    ValidationFailure,
    async_validate_certificate,
    validate_certificate,
    verify_signature,
)

NOW = datetime.datetime.now(datetime.UTC)


# --- a tiny OCSP responder ----------------------------------------------------------------------------------


@dataclass
class Responder:
    """Answers each POSTed request with ``answer(request)``; records what it was sent."""

    answer: Callable[[ocsp.OCSPRequest], bytes]
    requests: list[tuple[str, ocsp.OCSPRequest]] = field(default_factory=list)


def ocsp_response(
    pki,
    request: ocsp.OCSPRequest,
    *,
    status: ocsp.OCSPCertStatus = ocsp.OCSPCertStatus.GOOD,
    revoked_at: datetime.datetime | None = None,
    reason: x509.ReasonFlags | None = None,
    echo_nonce: bool = True,
    nonce: bytes | None = None,
) -> bytes:
    """A response signed by the delegated responder certificate, as jlis answers."""
    certificate = pki.signature_certificate
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=certificate,
            issuer=pki.signature_ca,
            algorithm=request.hash_algorithm,
            cert_status=status,
            this_update=NOW - datetime.timedelta(minutes=5),
            next_update=NOW + datetime.timedelta(hours=1),
            revocation_time=revoked_at,
            revocation_reason=reason,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, pki.signature_responder)
        .certificates([pki.signature_responder])
    )
    if echo_nonce:
        sent = request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        builder = builder.add_extension(x509.OCSPNonce(nonce or sent), critical=False)
    return builder.sign(pki.responder_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@pytest.fixture
def responder() -> Iterator[tuple[Responder, str]]:
    state = Responder(answer=lambda request: b"")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = ocsp.load_der_ocsp_request(body)
            state.requests.append((self.headers["Content-Type"], request))
            reply = state.answer(request)
            self.send_response(200)
            self.send_header("Content-Type", "application/ocsp-response")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/ocsp"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def anchors(pki) -> TrustAnchors:
    return TrustAnchors.from_certificates([pki.signature_ca, pki.auth_ca])


def good(pki) -> Callable[[ocsp.OCSPRequest], bytes]:
    return lambda request: ocsp_response(pki, request)


def signature_crl(pki, *, revoked: bool) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.signature_ca.subject)
        .last_update(NOW - datetime.timedelta(minutes=5))
        .next_update(NOW + datetime.timedelta(hours=1))
    )
    if revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(pki.signature_certificate.serial_number)
            .revocation_date(NOW - datetime.timedelta(minutes=10))
            .add_extension(x509.CRLReason(x509.ReasonFlags.affiliation_changed), critical=False)
            .build()
        )
    return builder.sign(pki.signature_ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


# --- verify_signature ----------------------------------------------------------------------------------------


def test_it_verifies_a_pkcs1_sha256_signature(pki) -> None:
    signature = pki.resident_key.sign(b"challenge", padding.PKCS1v15(), hashes.SHA256())
    verify_signature(pki.signature_certificate, b"challenge", signature)


def test_it_rejects_a_signature_over_other_data(pki) -> None:
    signature = pki.resident_key.sign(b"challenge", padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(SignatureInvalid):
        verify_signature(pki.signature_certificate, b"challengf", signature)


def test_it_rejects_a_signature_from_another_key(pki) -> None:
    signature = pki.responder_key.sign(b"challenge", padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(SignatureInvalid):
        verify_signature(pki.signature_certificate, b"challenge", signature)


def test_it_rejects_garbage_as_a_signature(pki) -> None:
    with pytest.raises(SignatureInvalid):
        verify_signature(pki.signature_certificate, b"challenge", b"\x00" * 3)


# --- validate_certificate: OCSP -------------------------------------------------------------------------------


def test_it_accepts_a_good_certificate_via_ocsp(pki, anchors, responder) -> None:
    state, url = responder
    state.answer = good(pki)
    result = validate_certificate(pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=OcspResponder(url))
    assert result.ok, result.message
    assert result.failure is None
    assert result.parsed is not None
    assert result.path[-1] == pki.signature_ca


def test_it_posts_an_ocsp_request_with_a_nonce(pki, anchors, responder) -> None:
    state, url = responder
    state.answer = good(pki)
    validate_certificate(pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=OcspResponder(url))
    content_type, request = state.requests[0]
    assert content_type == OCSP_REQUEST_CONTENT_TYPE
    assert request.serial_number == pki.signature_certificate.serial_number
    assert len(request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce) == 32


def test_it_reports_a_revoked_certificate_with_reason_and_time(pki, anchors, responder) -> None:
    state, url = responder
    revoked_at = (NOW - datetime.timedelta(minutes=10)).replace(microsecond=0)
    state.answer = lambda request: ocsp_response(
        pki,
        request,
        status=ocsp.OCSPCertStatus.REVOKED,
        revoked_at=revoked_at,
        reason=x509.ReasonFlags.affiliation_changed,
    )
    result = validate_certificate(pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=OcspResponder(url))
    assert not result.ok
    assert result.failure is ValidationFailure.REVOKED
    assert result.revocation_reason is x509.ReasonFlags.affiliation_changed
    assert result.revocation_time == revoked_at


def test_it_fails_closed_when_the_responder_is_unreachable(pki, anchors) -> None:
    result = validate_certificate(
        pki.signature_certificate,
        anchors,
        CertKind.SIGNATURE,
        revocation=OcspResponder("http://127.0.0.1:9/ocsp", timeout=2),
    )
    assert result.failure is ValidationFailure.REVOCATION_UNAVAILABLE


def test_it_fails_closed_on_a_garbage_ocsp_answer(pki, anchors, responder) -> None:
    state, url = responder
    state.answer = lambda request: b"not an OCSP response"
    result = validate_certificate(pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=OcspResponder(url))
    assert result.failure is ValidationFailure.REVOCATION_UNAVAILABLE


def test_it_fails_closed_on_an_ocsp_error_status(pki, anchors, responder) -> None:
    state, url = responder
    state.answer = lambda request: ocsp.OCSPResponseBuilder.build_unsuccessful(
        ocsp.OCSPResponseStatus.TRY_LATER
    ).public_bytes(serialization.Encoding.DER)
    result = validate_certificate(pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=OcspResponder(url))
    assert result.failure is ValidationFailure.REVOCATION_UNAVAILABLE
    assert "TRY_LATER" in result.message


def test_it_rejects_a_replayed_nonce(pki, anchors, responder) -> None:
    state, url = responder
    state.answer = lambda request: ocsp_response(pki, request, nonce=b"\x01" * 32)
    result = validate_certificate(pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=OcspResponder(url))
    assert result.failure is ValidationFailure.REVOCATION_UNAVAILABLE
    assert "nonce" in result.message


def test_it_accepts_a_presigned_response_without_nonce_unless_required(pki, anchors, responder) -> None:
    state, url = responder
    state.answer = lambda request: ocsp_response(pki, request, echo_nonce=False)
    lenient = validate_certificate(
        pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=OcspResponder(url)
    )
    strict = validate_certificate(
        pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=OcspResponder(url, require_nonce=True)
    )
    assert lenient.ok, lenient.message
    assert strict.failure is ValidationFailure.REVOCATION_UNAVAILABLE


def test_it_reports_a_certificate_the_responder_does_not_know(pki, anchors, responder) -> None:
    state, url = responder
    state.answer = lambda request: ocsp_response(pki, request, status=ocsp.OCSPCertStatus.UNKNOWN)
    result = validate_certificate(pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=OcspResponder(url))
    assert result.failure is ValidationFailure.REVOCATION_UNKNOWN


def test_it_rejects_an_ocsp_response_signed_by_an_unauthorised_key(pki, anchors, responder) -> None:
    state, url = responder

    def forged(request: ocsp.OCSPRequest) -> bytes:
        return (
            ocsp.OCSPResponseBuilder()
            .add_response(
                cert=pki.signature_certificate,
                issuer=pki.signature_ca,
                algorithm=request.hash_algorithm,
                cert_status=ocsp.OCSPCertStatus.GOOD,
                this_update=NOW - datetime.timedelta(minutes=5),
                next_update=NOW + datetime.timedelta(hours=1),
                revocation_time=None,
                revocation_reason=None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, pki.rogue_signature_ca)
            .certificates([pki.rogue_signature_ca])
            .add_extension(request.extensions.get_extension_for_class(x509.OCSPNonce).value, critical=False)
            .sign(pki.rogue_signature_ca_key, hashes.SHA256())
            .public_bytes(serialization.Encoding.DER)
        )

    state.answer = forged
    result = validate_certificate(pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=OcspResponder(url))
    assert not result.ok
    assert result.failure is ValidationFailure.REVOCATION_UNAVAILABLE


# --- validate_certificate: chain, hierarchy, profile, time -----------------------------------------------------


def test_it_rejects_a_certificate_from_the_other_hierarchy(pki, anchors, responder) -> None:
    state, url = responder
    state.answer = good(pki)
    result = validate_certificate(pki.auth_certificate, anchors, CertKind.SIGNATURE, revocation=OcspResponder(url))
    assert result.failure is ValidationFailure.WRONG_HIERARCHY
    assert state.requests == []


def test_it_rejects_a_tampered_certificate(pki, anchors, responder) -> None:
    state, url = responder
    state.answer = good(pki)
    der = bytearray(pki.signature_certificate.public_bytes(serialization.Encoding.DER))
    index = der.index("鎌倉市".encode())
    der[index : index + 9] = "横浜市".encode()
    tampered = x509.load_der_x509_certificate(bytes(der))
    result = validate_certificate(tampered, anchors, CertKind.SIGNATURE, revocation=OcspResponder(url))
    assert result.failure is ValidationFailure.SIGNATURE


def test_it_rejects_a_certificate_from_a_ca_with_the_same_name_but_another_key(pki, responder) -> None:
    state, url = responder
    state.answer = good(pki)
    only_rogue = TrustAnchors.from_certificates([pki.rogue_signature_ca, pki.auth_ca])
    result = validate_certificate(
        pki.signature_certificate, only_rogue, CertKind.SIGNATURE, revocation=OcspResponder(url)
    )
    assert result.failure is ValidationFailure.SIGNATURE


def test_it_rejects_a_simulated_certificate_against_the_real_roots(pki, responder) -> None:
    state, url = responder
    state.answer = good(pki)
    result = validate_certificate(
        pki.signature_certificate, TrustAnchors.real_jpki(), CertKind.SIGNATURE, revocation=OcspResponder(url)
    )
    assert result.failure is ValidationFailure.SIGNATURE


def test_it_rejects_a_certificate_breaking_the_profile(pki, anchors, responder) -> None:
    state, url = responder
    state.answer = good(pki)
    result = validate_certificate(pki.signature_responder, anchors, CertKind.SIGNATURE, revocation=OcspResponder(url))
    assert result.failure is ValidationFailure.PROFILE
    assert result.profile_rule is not None


def test_it_rejects_an_expired_certificate(pki, anchors) -> None:
    stored = StoredOcspResponses(())
    result = validate_certificate(
        pki.signature_certificate,
        anchors,
        CertKind.SIGNATURE,
        revocation=stored,
        at=pki.signature_certificate.not_valid_after_utc + datetime.timedelta(days=1),
    )
    assert result.failure is ValidationFailure.EXPIRED


def test_it_rejects_a_certificate_not_yet_valid(pki, anchors) -> None:
    result = validate_certificate(
        pki.signature_certificate,
        anchors,
        CertKind.SIGNATURE,
        revocation=StoredOcspResponses(()),
        at=pki.issued_at - datetime.timedelta(days=1),
    )
    assert result.failure is ValidationFailure.NOT_YET_VALID


def test_it_validates_at_a_past_moment_with_stored_ocsp(pki, anchors, responder) -> None:
    state, url = responder
    fetched: list[bytes] = []

    def answer(request: ocsp.OCSPRequest) -> bytes:
        fetched.append(ocsp_response(pki, request))
        return fetched[-1]

    state.answer = answer
    validate_certificate(pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=OcspResponder(url))
    result = validate_certificate(
        pki.signature_certificate,
        anchors,
        CertKind.SIGNATURE,
        revocation=StoredOcspResponses(tuple(fetched)),
        at=pki.issued_at + datetime.timedelta(days=1),
    )
    assert result.ok, result.message


# --- validate_certificate: CRL ---------------------------------------------------------------------------------


def test_it_accepts_a_certificate_absent_from_the_crl(pki, anchors) -> None:
    crl = signature_crl(pki, revoked=False)
    result = validate_certificate(pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=Crls(crls=(crl,)))
    assert result.ok, result.message


def test_it_reports_a_certificate_revoked_on_the_crl(pki, anchors) -> None:
    crl = signature_crl(pki, revoked=True)
    result = validate_certificate(pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=Crls(crls=(crl,)))
    assert result.failure is ValidationFailure.REVOKED
    assert result.revocation_reason is x509.ReasonFlags.affiliation_changed


def test_it_fails_closed_without_any_crl(pki, anchors) -> None:
    result = validate_certificate(pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=Crls())
    assert result.failure is ValidationFailure.REVOCATION_UNAVAILABLE


def test_it_fails_closed_when_the_crl_url_is_unreachable(pki, anchors) -> None:
    result = validate_certificate(
        pki.signature_certificate,
        anchors,
        CertKind.SIGNATURE,
        revocation=Crls(urls=("http://127.0.0.1:9/sign.crl",), timeout=2),
    )
    assert result.failure is ValidationFailure.REVOCATION_UNAVAILABLE


def test_it_rejects_a_crl_signed_by_someone_else(pki, anchors) -> None:
    forged = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.signature_ca.subject)
        .last_update(NOW - datetime.timedelta(minutes=5))
        .next_update(NOW + datetime.timedelta(hours=1))
        .sign(pki.rogue_signature_ca_key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    result = validate_certificate(
        pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=Crls(crls=(forged,))
    )
    assert not result.ok


def test_it_validates_an_auth_certificate_against_the_auth_root(pki, anchors) -> None:
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.auth_ca.subject)
        .last_update(NOW - datetime.timedelta(minutes=5))
        .next_update(NOW + datetime.timedelta(hours=1))
        .sign(pki.auth_ca_key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )
    result = validate_certificate(pki.auth_certificate, anchors, CertKind.AUTHENTICATION, revocation=Crls(crls=(crl,)))
    assert result.ok, result.message


def test_it_does_not_issue_from_a_foreign_hierarchy_either(pki) -> None:
    with pytest.raises(ValueError, match="signature CA"):
        build_signature_certificate(
            ca_certificate=pki.auth_ca,
            ca_key=pki.auth_ca_key,
            public_key=pki.resident_key.public_key(),
            info=pki.info,
            serial=3,
            not_before=NOW,
            not_after=NOW + datetime.timedelta(days=1),
            locality="Kamakura-shi",
        )


def test_it_a_later_revocation_leaves_the_certificate_valid_before_it(pki, anchors, responder) -> None:
    state, url = responder
    revoked_at = (NOW - datetime.timedelta(days=2)).replace(microsecond=0)
    fetched: list[bytes] = []

    def answer(request: ocsp.OCSPRequest) -> bytes:
        fetched.append(
            ocsp_response(
                pki,
                request,
                status=ocsp.OCSPCertStatus.REVOKED,
                revoked_at=revoked_at,
                reason=x509.ReasonFlags.key_compromise,
            )
        )
        return fetched[-1]

    state.answer = answer
    now = validate_certificate(pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=OcspResponder(url))
    before = validate_certificate(
        pki.signature_certificate,
        anchors,
        CertKind.SIGNATURE,
        revocation=StoredOcspResponses(tuple(fetched)),
        at=revoked_at - datetime.timedelta(days=1),
    )
    after = validate_certificate(
        pki.signature_certificate,
        anchors,
        CertKind.SIGNATURE,
        revocation=StoredOcspResponses(tuple(fetched)),
        at=revoked_at + datetime.timedelta(hours=1),
    )
    assert now.failure is ValidationFailure.REVOKED
    assert "JPKI signature certificate" in now.message
    # JPKI holds are never released, so "revoked later" proves "not revoked then" (pyhanko-certvalidator, used
    # before cryptography's verifier, answered REVOCATION_UNAVAILABLE here).
    assert before.ok, before.message
    assert before.failure is None
    assert after.failure is ValidationFailure.REVOKED


# --- OCSP response checks (RFC 6960 §3.2, §4.2.2.2) and point in time ----------------------------------------


def responder_certificate(
    pki,
    issuer: x509.Certificate,
    issuer_key,
    *,
    eku: bool = True,
    nocheck: bool = True,
    not_after: datetime.datetime | None = None,
) -> x509.Certificate:
    """A delegated responder certificate for ``pki.responder_key`` issued by ``issuer``."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([*issuer.subject, x509.NameAttribute(NameOID.COMMON_NAME, "Test Responder")]))
        .issuer_name(issuer.subject)
        .public_key(pki.responder_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=10))
        .not_valid_after(not_after or NOW + datetime.timedelta(days=10))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
    if nocheck:
        builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def custom_response(
    request: ocsp.OCSPRequest,
    *,
    signer: x509.Certificate,
    key,
    include: tuple[x509.Certificate, ...] | None = None,
    status: ocsp.OCSPCertStatus = ocsp.OCSPCertStatus.GOOD,
    revoked_at: datetime.datetime | None = None,
    this_update: datetime.datetime | None = None,
    next_update: datetime.datetime | None = NOW + datetime.timedelta(hours=1),
    serial: int | None = None,
    nonce: bytes | None = None,
) -> bytes:
    """A response to ``request`` (its CertID hashes) signed by ``key``, naming ``signer`` as the responder."""
    sent = request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash,
            issuer_key_hash=request.issuer_key_hash,
            serial_number=request.serial_number if serial is None else serial,
            algorithm=request.hash_algorithm,
            cert_status=status,
            this_update=this_update or NOW - datetime.timedelta(minutes=5),
            next_update=next_update,
            revocation_time=revoked_at,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, signer)
        .add_extension(x509.OCSPNonce(nonce or sent), critical=False)
    )
    included = include if include is not None else (signer,)
    if included:
        builder = builder.certificates(list(included))
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def check(pki, anchors, url: str, **kwargs):
    return validate_certificate(
        pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=OcspResponder(url), **kwargs
    )


def test_it_accepts_a_response_signed_by_the_issuing_ca_itself(pki, anchors, responder) -> None:
    state, url = responder
    state.answer = lambda request: custom_response(
        request, signer=pki.signature_ca, key=pki.signature_ca_key, include=()
    )
    result = check(pki, anchors, url)
    assert result.ok, result.message


def test_it_rejects_a_delegated_responder_without_the_ocsp_signing_eku(pki, anchors, responder) -> None:
    state, url = responder
    no_eku = responder_certificate(pki, pki.signature_ca, pki.signature_ca_key, eku=False)
    state.answer = lambda request: custom_response(request, signer=no_eku, key=pki.responder_key)
    result = check(pki, anchors, url)
    assert result.failure is ValidationFailure.REVOCATION_UNAVAILABLE
    assert "OCSPSigning" in result.message


def test_it_accepts_a_delegated_responder_issued_by_the_same_ca(pki, anchors, responder) -> None:
    state, url = responder
    delegated = responder_certificate(pki, pki.signature_ca, pki.signature_ca_key)
    state.answer = lambda request: custom_response(request, signer=delegated, key=pki.responder_key)
    result = check(pki, anchors, url)
    assert result.ok, result.message


@pytest.mark.parametrize("other_ca", ["auth_ca", "rogue_signature_ca"])
def test_it_rejects_a_responder_certificate_issued_by_another_ca(pki, anchors, responder, other_ca) -> None:
    state, url = responder
    foreign = responder_certificate(pki, getattr(pki, other_ca), getattr(pki, f"{other_ca}_key"))
    state.answer = lambda request: custom_response(request, signer=foreign, key=pki.responder_key)
    result = check(pki, anchors, url)
    assert result.failure is ValidationFailure.REVOCATION_UNAVAILABLE
    assert "not authorised by the issuing CA" in result.message


def test_it_rejects_a_responder_certificate_without_ocsp_nocheck(pki, anchors, responder) -> None:
    state, url = responder
    checkable = responder_certificate(pki, pki.signature_ca, pki.signature_ca_key, nocheck=False)
    state.answer = lambda request: custom_response(request, signer=checkable, key=pki.responder_key)
    result = check(pki, anchors, url)
    assert result.failure is ValidationFailure.REVOCATION_UNAVAILABLE
    assert "nocheck" in result.message


def test_it_rejects_an_expired_responder_certificate(pki, anchors, responder) -> None:
    state, url = responder
    expired = responder_certificate(
        pki, pki.signature_ca, pki.signature_ca_key, not_after=NOW - datetime.timedelta(days=1)
    )
    state.answer = lambda request: custom_response(request, signer=expired, key=pki.responder_key)
    result = check(pki, anchors, url)
    assert result.failure is ValidationFailure.REVOCATION_UNAVAILABLE


def test_it_rejects_a_response_about_another_serial(pki, anchors, responder) -> None:
    state, url = responder
    state.answer = lambda request: custom_response(
        request,
        signer=pki.signature_responder,
        key=pki.responder_key,
        serial=pki.signature_certificate.serial_number + 1,
    )
    result = check(pki, anchors, url)
    assert result.failure is ValidationFailure.REVOCATION_UNAVAILABLE
    assert "another certificate" in result.message


def test_it_rejects_a_stored_response_about_another_serial(pki, anchors, responder) -> None:
    state, url = responder
    fetched: list[bytes] = []

    def answer(request: ocsp.OCSPRequest) -> bytes:
        fetched.append(
            custom_response(
                request,
                signer=pki.signature_responder,
                key=pki.responder_key,
                serial=pki.signature_certificate.serial_number + 1,
            )
        )
        return fetched[-1]

    state.answer = answer
    check(pki, anchors, url)
    result = validate_certificate(
        pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=StoredOcspResponses(tuple(fetched))
    )
    assert result.failure is ValidationFailure.REVOCATION_UNAVAILABLE
    assert "another certificate" in result.message


@pytest.mark.parametrize(
    ("this_update", "next_update", "words"),
    [
        # nextUpdate passed: the responder itself says the answer is out of date.
        (NOW - datetime.timedelta(days=2), NOW - datetime.timedelta(days=1), "stale"),
        # nextUpdate still ahead, but the answer is hours old: not recent enough for a check now.
        (NOW - datetime.timedelta(hours=3), NOW + datetime.timedelta(hours=1), "not recent"),
        # no nextUpdate and old.
        (NOW - datetime.timedelta(hours=3), None, "stale"),
        # produced in the future (beyond the tolerated clock skew).
        (NOW + datetime.timedelta(hours=1), NOW + datetime.timedelta(hours=2), "future"),
    ],
)
def test_it_rejects_a_response_that_is_not_fresh(pki, anchors, responder, this_update, next_update, words) -> None:
    state, url = responder
    state.answer = lambda request: custom_response(
        request,
        signer=pki.signature_responder,
        key=pki.responder_key,
        this_update=this_update,
        next_update=next_update,
    )
    result = check(pki, anchors, url)
    assert result.failure is ValidationFailure.REVOCATION_UNAVAILABLE
    assert words in result.message


def test_it_rejects_a_nonce_from_another_request(pki, anchors, responder) -> None:
    state, url = responder
    earlier: list[bytes] = []

    def answer(request: ocsp.OCSPRequest) -> bytes:
        nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        earlier.append(nonce)
        return custom_response(request, signer=pki.signature_responder, key=pki.responder_key, nonce=earlier[0])

    state.answer = answer
    first = check(pki, anchors, url)
    replayed = check(pki, anchors, url)
    assert first.ok, first.message
    assert replayed.failure is ValidationFailure.REVOCATION_UNAVAILABLE
    assert "nonce" in replayed.message


def test_it_rejects_a_response_whose_signature_does_not_verify(pki, anchors, responder) -> None:
    state, url = responder

    def tampered(request: ocsp.OCSPRequest) -> bytes:
        # The genuine responder's response with one bit of its signature value flipped.
        der = custom_response(request, signer=pki.signature_responder, key=pki.responder_key)
        signature = ocsp.load_der_ocsp_response(der).signature
        at = der.index(signature) + len(signature) // 2
        return der[:at] + bytes([der[at] ^ 0x01]) + der[at + 1 :]

    state.answer = tampered
    result = check(pki, anchors, url)
    assert result.failure is ValidationFailure.REVOCATION_UNAVAILABLE
    assert "signature does not verify" in result.message


def test_it_a_forged_unknown_is_unavailable_not_unknown(pki, anchors, responder) -> None:
    state, url = responder
    # Signed by the rogue CA (same DN as the issuing CA, another key), naming itself as the responder.
    state.answer = lambda request: custom_response(
        request, signer=pki.rogue_signature_ca, key=pki.rogue_signature_ca_key, status=ocsp.OCSPCertStatus.UNKNOWN
    )
    result = check(pki, anchors, url)
    assert result.failure is ValidationFailure.REVOCATION_UNAVAILABLE


def test_it_a_later_revocation_on_a_crl_leaves_the_certificate_valid_before_it(pki, anchors) -> None:
    crl = signature_crl(pki, revoked=True)  # revoked ten minutes ago
    earlier = validate_certificate(
        pki.signature_certificate,
        anchors,
        CertKind.SIGNATURE,
        revocation=Crls(crls=(crl,)),
        at=pki.issued_at + datetime.timedelta(days=1),
    )
    now = validate_certificate(pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=Crls(crls=(crl,)))
    assert earlier.ok, earlier.message
    assert now.failure is ValidationFailure.REVOKED


def test_it_rejects_a_crl_whose_signature_was_tampered_with(pki, anchors) -> None:
    der = bytearray(signature_crl(pki, revoked=False))
    der[-1] ^= 0x01  # the last byte belongs to the signature value
    result = validate_certificate(
        pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=Crls(crls=(bytes(der),))
    )
    assert result.failure is ValidationFailure.REVOCATION_UNAVAILABLE
    assert "signature" in result.message


def test_it_rejects_a_stale_crl(pki, anchors) -> None:
    stale = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.signature_ca.subject)
        .last_update(NOW - datetime.timedelta(days=2))
        .next_update(NOW - datetime.timedelta(days=1))
        .sign(pki.signature_ca_key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    result = validate_certificate(
        pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=Crls(crls=(stale,))
    )
    assert result.failure is ValidationFailure.REVOCATION_UNAVAILABLE
    assert "stale" in result.message


def test_it_the_async_variant_gives_the_same_result(pki, anchors, responder) -> None:
    import asyncio

    state, url = responder
    state.answer = good(pki)
    result = asyncio.run(
        async_validate_certificate(
            pki.signature_certificate, anchors, CertKind.SIGNATURE, revocation=OcspResponder(url)
        )
    )
    assert result.ok, result.message
    assert result.path == (pki.signature_certificate, pki.signature_ca)
