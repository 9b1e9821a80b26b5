"""``POST /wallet/enroll``: a CSR authenticated by a fresh card signature (real jlis, virtual card) or a session."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from django.test import Client

from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import Authentication, Level, Method
from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.deviceca.models import DeviceCertificate
from anchorid.idp.deviceca.profile import acr_of
from anchorid.idp.sessions import SESSION_ACR, SESSION_AMR, SESSION_AUTH_TIME, SESSION_CREDENTIAL
from anchorid.jpki.client import JPKICard
from anchorid.jpki.transport import EmulatorTransport
from anchorid.wallet.protocol import TYPE_ENROLL, b64url, client_data

ORIGIN = "http://testserver"


def csr_der(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None) -> bytes:
    key = key or ec.generate_private_key(ec.SECP256R1())
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wallet")])
    )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def post(client: Client, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(path, json.dumps(body or {}), content_type="application/json")


def challenge(client: Client, path: str = "/wallet/challenge") -> str:
    response = post(client, path)
    assert response.status_code == 200
    value: str = response.json()["challenge"]
    return value


def card_proof(card: dict[str, Any], data: bytes) -> dict[str, str]:
    """The virtual card signs ``data`` with its signature key, as the wallet does (PIN to the card only)."""
    pin = card["signature_pin"]
    with JPKICard(EmulatorTransport(card["card_file"])) as jpki_card:
        certificate = jpki_card.read_signature_certificate(pin)
        signature = jpki_card.sign(data, pin=pin)
    return {
        "certificate": b64(certificate.public_bytes(serialization.Encoding.DER)),
        "client_data": b64url(data),
        "signature": b64(signature),
    }


@pytest.fixture
def card(use_jlis: Any) -> dict[str, Any]:
    result: dict[str, Any] = use_jlis.card(0)
    return result


@pytest.fixture
def resident(card: dict[str, Any], card_certificate: Callable[..., Any], anchor_account: Callable[..., Any]) -> Any:
    return anchor_account(card_certificate(card["card_file"]))


def card_enrollment(client: Client, card: dict[str, Any], csr: bytes, *, origin: str = ORIGIN) -> dict[str, Any]:
    data = client_data(TYPE_ENROLL, challenge(client), origin, csr_sha256=hashlib.sha256(csr).hexdigest())
    return {"csr": b64(csr), "device_name": "my phone", "card": card_proof(card, data)}


def test_it_enrolls_a_wallet_key_with_a_fresh_card_signature(
    client: Client, device_ca: Any, card: dict[str, Any], resident: Account
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    response = post(client, "/wallet/enroll", card_enrollment(client, card, csr_der(key)))
    assert response.status_code == 201, response.json()
    answer = response.json()
    certificate = x509.load_der_x509_certificate(base64.b64decode(answer["certificate"]))
    assert certificate.public_key() == key.public_key()
    assert acr_of(certificate) == Level.DERIVED.acr == answer["acr"]
    record = DeviceCertificate.objects.get(account=resident)
    assert record.enrolled_with == "card"
    assert record.device_name == "my phone"
    entry = AuditEntry.objects.get(event_type="credential_issued")
    assert entry.details == {
        "credential_id": record.subject_id,
        "credential_kind": "device_certificate",
        "assurance": Level.DERIVED.acr,
    }


def test_it_refuses_a_replayed_challenge(
    client: Client, device_ca: Any, card: dict[str, Any], resident: Account
) -> None:
    body = card_enrollment(client, card, csr_der())
    assert post(client, "/wallet/enroll", body).status_code == 201
    again = post(client, "/wallet/enroll", body)
    assert again.status_code == 400
    assert again.json()["error"] == "challenge_replayed"
    assert DeviceCertificate.objects.count() == 1


def test_it_refuses_a_challenge_it_never_issued(
    client: Client, device_ca: Any, card: dict[str, Any], resident: Account
) -> None:
    csr = csr_der()
    data = client_data(TYPE_ENROLL, b64url(b"x" * 32), ORIGIN, csr_sha256=hashlib.sha256(csr).hexdigest())
    response = post(client, "/wallet/enroll", {"csr": b64(csr), "card": card_proof(card, data)})
    assert response.json()["error"] == "challenge_unknown"
    assert not DeviceCertificate.objects.exists()


def test_it_refuses_a_card_that_anchors_no_account(client: Client, device_ca: Any, card: dict[str, Any]) -> None:
    response = post(client, "/wallet/enroll", card_enrollment(client, card, csr_der()))
    assert response.status_code == 403
    assert response.json()["error"] == "no_account"
    assert not DeviceCertificate.objects.exists()


def test_it_refuses_a_suspended_account(
    client: Client, device_ca: Any, card: dict[str, Any], resident: Account
) -> None:
    Account.objects.filter(pk=resident.pk).update(status=Account.Status.SUSPENDED)
    response = post(client, "/wallet/enroll", card_enrollment(client, card, csr_der()))
    assert response.status_code == 403
    assert response.json()["error"] == "account_suspended"
    assert not DeviceCertificate.objects.exists()


def test_it_refuses_a_csr_the_card_did_not_sign_for(
    client: Client, device_ca: Any, card: dict[str, Any], resident: Account
) -> None:
    body = card_enrollment(client, card, csr_der())
    body["csr"] = b64(csr_der())  # an attacker's key under the resident's card signature
    response = post(client, "/wallet/enroll", body)
    assert response.json()["error"] == "csr_mismatch"
    assert not DeviceCertificate.objects.exists()


def test_it_refuses_a_signature_made_for_another_origin(
    client: Client, device_ca: Any, card: dict[str, Any], resident: Account
) -> None:
    response = post(client, "/wallet/enroll", card_enrollment(client, card, csr_der(), origin="https://evil.example"))
    assert response.json()["error"] == "origin_mismatch"
    assert not DeviceCertificate.objects.exists()


def test_it_refuses_a_card_signature_over_other_data(
    client: Client, device_ca: Any, card: dict[str, Any], resident: Account
) -> None:
    csr = csr_der()
    data = client_data(TYPE_ENROLL, challenge(client), ORIGIN, csr_sha256=hashlib.sha256(csr).hexdigest())
    proof = card_proof(card, data + b" ")
    proof["client_data"] = b64url(data)
    response = post(client, "/wallet/enroll", {"csr": b64(csr), "card": proof})
    assert response.json()["error"] == "signature_mismatch"
    assert not DeviceCertificate.objects.exists()


def test_it_refuses_a_bad_csr(client: Client, device_ca: Any) -> None:
    response = post(client, "/wallet/enroll", {"csr": b64(b"not a CSR")})
    assert response.status_code == 400
    assert response.json()["error"] == "bad_csr"


def test_it_refuses_a_csr_with_an_rsa_key(client: Client, device_ca: Any) -> None:
    response = post(client, "/wallet/enroll", {"csr": b64(csr_der(rsa.generate_private_key(65537, 2048)))})
    assert response.json()["error"] == "unsupported_key"


def test_it_refuses_a_csr_with_another_curve(client: Client, device_ca: Any) -> None:
    response = post(client, "/wallet/enroll", {"csr": b64(csr_der(ec.generate_private_key(ec.SECP384R1())))})
    assert response.json()["error"] == "unsupported_key"


def test_it_refuses_a_csr_whose_signature_is_broken(client: Client, device_ca: Any) -> None:
    der = bytearray(csr_der())
    der[-3] ^= 0x01  # inside the ECDSA signature value
    response = post(client, "/wallet/enroll", {"csr": b64(bytes(der))})
    assert response.json()["error"] in ("csr_signature_invalid", "bad_csr")
    assert not DeviceCertificate.objects.exists()


def test_it_refuses_without_card_or_session(client: Client, device_ca: Any) -> None:
    response = post(client, "/wallet/enroll", {"csr": b64(csr_der())})
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_it_refuses_a_form_post(client: Client, device_ca: Any) -> None:
    response = client.post("/wallet/enroll", {"csr": "x"})
    assert response.status_code == 415
    assert response.json()["error"] == "bad_request"


def log_in_session(client: Client, account: Account, authentication: Authentication) -> None:
    """A logged-in session as ``sessions.log_in`` leaves it (its own tests cover the login itself)."""
    client.force_login(account)
    session = client.session
    session[SESSION_ACR] = authentication.level.acr
    session[SESSION_AMR] = authentication.amr
    session[SESSION_AUTH_TIME] = int(time.time())
    session[SESSION_CREDENTIAL] = ""
    session.save()


def test_it_enrolls_with_a_passkey_session(client: Client, device_ca: Any) -> None:
    account = Account.objects.create_user("resident-session")
    log_in_session(client, account, Authentication(Level.DERIVED, (Method.PASSKEY, Method.USER_VERIFICATION)))
    response = post(client, "/wallet/enroll", {"csr": b64(csr_der()), "device_name": "laptop"})
    assert response.status_code == 201, response.json()
    assert DeviceCertificate.objects.get(account=account).enrolled_with == "session"


def test_it_refuses_a_session_of_a_suspended_account(client: Client, device_ca: Any) -> None:
    account = Account.objects.create_user("resident-suspended")
    log_in_session(client, account, Authentication(Level.DERIVED, (Method.PASSKEY,)))
    Account.objects.filter(pk=account.pk).update(status=Account.Status.SUSPENDED)
    response = post(client, "/wallet/enroll", {"csr": b64(csr_der())})
    assert response.status_code == 401  # the session no longer counts as a login
    assert not DeviceCertificate.objects.exists()


def test_it_refuses_a_session_request_from_another_site(client: Client, device_ca: Any) -> None:
    account = Account.objects.create_user("resident-csrf")
    log_in_session(client, account, Authentication(Level.DERIVED, (Method.PASSKEY,)))
    response = client.post(
        "/wallet/enroll",
        json.dumps({"csr": b64(csr_der())}),
        content_type="application/json",
        HTTP_ORIGIN="https://evil.example",
    )
    assert response.status_code == 403
    assert response.json()["error"] == "origin_mismatch"


def test_it_refuses_the_same_key_twice(client: Client, device_ca: Any) -> None:
    account = Account.objects.create_user("resident-twice")
    log_in_session(client, account, Authentication(Level.DERIVED, (Method.PASSKEY,)))
    key_csr = b64(csr_der(ec.generate_private_key(ec.SECP256R1())))
    assert post(client, "/wallet/enroll", {"csr": key_csr}).status_code == 201
    again = post(client, "/wallet/enroll", {"csr": key_csr})
    assert again.status_code == 409
    assert again.json()["error"] == "key_already_enrolled"
