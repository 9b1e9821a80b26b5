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

from anchorid.jpki.profiles import CertKind, build_signature_certificate
from anchorid.jpki.trust import TrustAnchors
from anchorid.jpki.verify import (
    OCSP_REQUEST_CONTENT_TYPE,
    Crls,
    OcspResponder,
    SignatureInvalid,
    StoredOcspResponses,
    ValidationFailure,
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


def test_it_needs_revocation_data_from_before_the_revocation_to_validate_earlier(pki, anchors, responder) -> None:
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
    # pyhanko-certvalidator does not take "revoked later" as proof of "good then": store the OCSP response from
    # the signing time instead (test_it_validates_at_a_past_moment_with_stored_ocsp, PAdES B-LT).
    assert before.failure is ValidationFailure.REVOCATION_UNAVAILABLE
    assert after.failure is ValidationFailure.REVOKED
