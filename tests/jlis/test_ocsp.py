"""RFC 6960 responder, through Django's test client and through the thin WSGI path."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509 import ocsp

from anchorid.jlis import lifeevents
from anchorid.jlis.authority import load_authority
from anchorid.jlis.models import Certificate, CertificateKind
from anchorid.jlis.ocsp import OCSP_REQUEST_CONTENT_TYPE, OCSP_RESPONSE_CONTENT_TYPE

pytestmark = pytest.mark.django_db

#: The CertID hash openssl and most clients send (RFC 6960 §4.1.1); an identifier, not a security hash.
CERT_ID_SHA1 = hashes.SHA1()  # noqa: S303


def _x509(row: Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(bytes(row.der))


def _request(row: Certificate, *, nonce: bytes | None = None, algorithm: Any = None) -> bytes:
    issuer = load_authority(row.kind).certificate
    builder = ocsp.OCSPRequestBuilder().add_certificate(_x509(row), issuer, algorithm or CERT_ID_SHA1)
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _post(client: Any, kind: str, body: bytes) -> ocsp.OCSPResponse:
    response = client.post(f"/ocsp/{kind}", body, content_type=OCSP_REQUEST_CONTENT_TYPE)
    assert response.status_code == 200
    assert response["Content-Type"] == OCSP_RESPONSE_CONTENT_TYPE
    return ocsp.load_der_ocsp_response(response.content)


def _check_signed_by_responder(answer: ocsp.OCSPResponse, kind: str) -> None:
    responder = load_authority(kind).responder_certificate
    assert answer.certificates == [responder]
    key: Any = responder.public_key()
    key.verify(answer.signature, answer.tbs_response_bytes, padding.PKCS1v15(), answer.signature_hash_algorithm)


def test_it_answers_good_for_a_known_certificate(client: Any, counter: Any) -> None:
    answer = _post(client, "sign", _request(counter.adult.signature_certificate))
    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert answer.serial_number == counter.adult.signature_certificate.serial
    assert answer.next_update_utc is not None
    _check_signed_by_responder(answer, "sign")


def test_it_answers_the_auth_responder_for_auth_certificates(client: Any, counter: Any) -> None:
    answer = _post(client, "auth", _request(counter.adult.authentication_certificate))
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    _check_signed_by_responder(answer, "auth")


def test_it_answers_unknown_for_the_other_cas_certificate(client: Any, counter: Any) -> None:
    answer = _post(client, "sign", _request(counter.adult.authentication_certificate))
    assert answer.certificate_status == ocsp.OCSPCertStatus.UNKNOWN
    _check_signed_by_responder(answer, "sign")


def test_it_answers_unknown_for_a_serial_it_never_issued(client: Any, counter: Any) -> None:
    issuer = load_authority(CertificateKind.SIGNATURE).certificate
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(_issuer_hash(issuer, "name"), _issuer_hash(issuer, "key"), 12345, CERT_ID_SHA1)
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    assert _post(client, "sign", request).certificate_status == ocsp.OCSPCertStatus.UNKNOWN


def _issuer_hash(issuer: x509.Certificate, what: str) -> bytes:
    digest = hashes.Hash(CERT_ID_SHA1)
    if what == "name":
        digest.update(issuer.subject.public_bytes())
    else:
        digest.update(issuer.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1))
    return digest.finalize()


@pytest.mark.parametrize("body", [b"", b"not DER", b"\x30\x03\x02\x01\x01", b"\x30" * 9000])
def test_it_answers_malformed_request_for_garbage(client: Any, body: bytes) -> None:
    answer = _post(client, "sign", body)
    assert answer.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_it_answers_malformed_request_for_bad_base64_in_get(client: Any) -> None:
    response = client.get("/ocsp/sign/***")
    assert response.status_code == 200
    assert ocsp.load_der_ocsp_response(response.content).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_it_answers_get_with_a_base64_request(client: Any, counter: Any) -> None:
    encoded = base64.b64encode(_request(counter.adult.authentication_certificate)).decode()
    response = client.get(f"/ocsp/auth/{encoded}")
    assert response.status_code == 200
    assert ocsp.load_der_ocsp_response(response.content).certificate_status == ocsp.OCSPCertStatus.GOOD


def test_it_answers_get_whose_base64_ends_in_a_slash(client: Any, counter: Any) -> None:
    # A trailing '/' is a base64 character, not a path separator: find a nonce that puts one last.
    row = counter.adult.signature_certificate
    encoded = next(
        text
        for text in (
            base64.b64encode(_request(row, nonce=bytes(size - 1) + bytes([last]))).decode()
            for size in (16, 17, 18)
            for last in range(256)
        )
        if text.endswith("/")
    )
    response = client.get(f"/ocsp/sign/{encoded}")
    assert ocsp.load_der_ocsp_response(response.content).certificate_status == ocsp.OCSPCertStatus.GOOD


def test_it_echoes_the_nonce_in_a_freshly_signed_response(client: Any, counter: Any) -> None:
    nonce = b"0123456789abcdef"
    answer = _post(client, "sign", _request(counter.adult.signature_certificate, nonce=nonce))
    assert answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    _check_signed_by_responder(answer, "sign")


def test_it_refuses_an_overlong_nonce(client: Any, counter: Any) -> None:
    answer = _post(client, "sign", _request(counter.adult.signature_certificate, nonce=b"x" * 33))
    assert answer.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_it_answers_a_sha256_cert_id(client: Any, counter: Any) -> None:
    answer = _post(client, "auth", _request(counter.adult.authentication_certificate, algorithm=hashes.SHA256()))
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert isinstance(answer.hash_algorithm, hashes.SHA256)


def test_it_answers_revoked_with_the_reason_right_after_a_move(client: Any, fresh: Any) -> None:
    resident = fresh.card.resident
    lifeevents.move(resident, address="神奈川県鎌倉市小町一丁目２番３号")
    sign = _post(client, "sign", _request(fresh.signature_certificate))
    assert sign.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert sign.revocation_reason == x509.ReasonFlags.affiliation_changed
    assert sign.revocation_time_utc is not None
    auth = _post(client, "auth", _request(fresh.authentication_certificate))
    assert auth.certificate_status == ocsp.OCSPCertStatus.GOOD


def test_it_answers_certificate_hold_after_a_lost_card(client: Any, fresh: Any) -> None:
    lifeevents.hold_lost_card(fresh.card.resident)
    for kind, row in (("sign", fresh.signature_certificate), ("auth", fresh.authentication_certificate)):
        answer = _post(client, kind, _request(row, nonce=b"fresh-signature!"))
        assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
        assert answer.revocation_reason == x509.ReasonFlags.certificate_hold


def test_it_refuses_unknown_responders_and_methods(client: Any) -> None:
    assert client.post("/ocsp/nope", b"", content_type=OCSP_REQUEST_CONTENT_TYPE).status_code == 404
    assert client.put("/ocsp/sign", b"").status_code == 405


def test_it_answers_through_the_thin_wsgi_path(counter: Any) -> None:
    from anchorid.jlis.wsgi import application

    body = _request(counter.adult.signature_certificate)
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/ocsp/sign",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": OCSP_REQUEST_CONTENT_TYPE,
        "wsgi.input": io.BytesIO(body),
    }
    payload = b"".join(application(environ, start_response))
    assert seen["status"] == "200 OK"
    assert seen["headers"]["Content-Type"] == OCSP_RESPONSE_CONTENT_TYPE
    assert ocsp.load_der_ocsp_response(payload).certificate_status == ocsp.OCSPCertStatus.GOOD


def test_it_serves_the_stored_response_without_signing(counter: Any, client: Any) -> None:
    stored = bytes(Certificate.objects.get(pk=counter.other_adult.authentication_certificate.pk).ocsp_response)
    response = client.post(
        "/ocsp/auth", _request(counter.other_adult.authentication_certificate), content_type=OCSP_REQUEST_CONTENT_TYPE
    )
    assert response.content == stored
