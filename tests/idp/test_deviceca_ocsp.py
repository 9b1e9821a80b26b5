"""The platform OCSP responder (RFC 6960) and CRLs for device certificates, in process."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from django.test import Client

from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import Level
from anchorid.idp.deviceca.issuance import issue_device_certificate, load_csr
from anchorid.idp.deviceca.models import DeviceCertificate
from anchorid.idp.deviceca.revocation import (
    RevocationRefused,
    resume_device_certificates,
    revoke_device_certificate,
    suspend_device_certificates,
)
from anchorid.wallet.protocol import build_csr

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(device_ca: Any) -> DeviceCertificate:
    account = Account.objects.create_user("resident-ocsp")
    key = ec.generate_private_key(ec.SECP256R1())
    return issue_device_certificate(account, load_csr(build_csr(key)), acr=Level.DERIVED.acr, enrolled_with="card")


def request_der(certificate: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None = None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA1())  # noqa: S303
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def ask(client: Client, body: bytes) -> ocsp.OCSPResponse:
    response = client.post("/pki/ocsp", body, content_type="application/ocsp-request")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(response.content)


def leaf(record: DeviceCertificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(bytes(record.der))


def check_signed_by_responder(answer: ocsp.OCSPResponse, device_ca: Any) -> None:
    responder = answer.certificates[0]
    assert responder == device_ca.responder
    public_key = responder.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(answer.signature, answer.tbs_response_bytes, ec.ECDSA(hashes.SHA256()))
    responder.verify_directly_issued_by(device_ca.issuing)


def test_it_answers_good_signed_by_the_delegated_responder(
    client: Client, issued: DeviceCertificate, device_ca: Any
) -> None:
    answer = ask(client, request_der(leaf(issued), device_ca.issuing))
    assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
    check_signed_by_responder(answer, device_ca)


def test_it_answers_revoked_with_the_reason_at_once(client: Client, issued: DeviceCertificate, device_ca: Any) -> None:
    revoke_device_certificate(issued, x509.ReasonFlags.key_compromise)
    answer = ask(client, request_der(leaf(issued), device_ca.issuing))
    assert answer.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason is x509.ReasonFlags.key_compromise


def test_it_echoes_a_nonce(client: Client, issued: DeviceCertificate, device_ca: Any) -> None:
    nonce = os.urandom(32)
    answer = ask(client, request_der(leaf(issued), device_ca.issuing, nonce))
    assert answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce
    check_signed_by_responder(answer, device_ca)


def test_it_answers_get_requests(client: Client, issued: DeviceCertificate, device_ca: Any) -> None:
    encoded = base64.b64encode(request_der(leaf(issued), device_ca.issuing)).decode()
    response = client.get(f"/pki/ocsp/{encoded}")
    assert ocsp.load_der_ocsp_response(response.content).certificate_status is ocsp.OCSPCertStatus.GOOD


def test_it_answers_unknown_for_another_issuer(client: Client, issued: DeviceCertificate, device_ca: Any) -> None:
    answer = ask(client, request_der(device_ca.responder, device_ca.root))
    assert answer.certificate_status is ocsp.OCSPCertStatus.UNKNOWN


def test_it_answers_malformed_for_garbage(client: Client, device_ca: Any) -> None:
    assert ask(client, b"\x30\x03junk").response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_it_suspension_holds_and_resumption_releases(client: Client, issued: DeviceCertificate, device_ca: Any) -> None:
    suspend_device_certificates(issued.account)
    answer = ask(client, request_der(leaf(issued), device_ca.issuing))
    assert answer.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason is x509.ReasonFlags.certificate_hold
    crl = x509.load_der_x509_crl(client.get("/pki/issuing.crl").content)
    entry = crl.get_revoked_certificate_by_serial_number(leaf(issued).serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is x509.ReasonFlags.certificate_hold
    resume_device_certificates(issued.account)
    assert ask(client, request_der(leaf(issued), device_ca.issuing)).certificate_status is ocsp.OCSPCertStatus.GOOD
    crl = x509.load_der_x509_crl(client.get("/pki/issuing.crl").content)
    assert crl.get_revoked_certificate_by_serial_number(leaf(issued).serial_number) is None


def test_it_the_crl_lists_revoked_certificates_and_is_signed_by_the_issuing_ca(
    client: Client, issued: DeviceCertificate, device_ca: Any
) -> None:
    before = x509.load_der_x509_crl(client.get("/pki/issuing.crl").content)
    revoke_device_certificate(issued, x509.ReasonFlags.cessation_of_operation)
    response = client.get("/pki/issuing.crl")
    assert response["Content-Type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(response.content)
    assert crl.is_signature_valid(device_ca.issuing.public_key())
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number > before.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert crl.get_revoked_certificate_by_serial_number(leaf(issued).serial_number) is not None
    root_crl = x509.load_der_x509_crl(client.get("/pki/root.crl").content)
    assert root_crl.is_signature_valid(device_ca.root.public_key())


def test_it_a_hold_is_not_a_revocation_reason(issued: DeviceCertificate) -> None:
    with pytest.raises(RevocationRefused):
        revoke_device_certificate(issued, x509.ReasonFlags.certificate_hold)
    issued.refresh_from_db()
    assert issued.status == DeviceCertificate.Status.GOOD


def test_it_publishes_the_ca_certificates(client: Client, device_ca: Any) -> None:
    for path, certificate in (
        ("/pki/root.cer", device_ca.root),
        ("/pki/issuing.cer", device_ca.issuing),
        ("/pki/ocsp.cer", device_ca.responder),
    ):
        response = client.get(path)
        assert response["Content-Type"] == "application/pkix-cert"
        assert x509.load_der_x509_certificate(response.content) == certificate
