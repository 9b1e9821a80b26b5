"""``POST /login/wallet``: a challenge signed with the wallet key, checked against the platform CA and our records."""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.test import Client

from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import Level, Method
from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.deviceca import profile
from anchorid.idp.deviceca.issuance import issue_device_certificate, load_csr
from anchorid.idp.deviceca.models import DeviceCertificate
from anchorid.idp.deviceca.revocation import (
    resume_device_certificates,
    revoke_device_certificate,
    suspend_device_certificates,
)
from anchorid.idp.sessions import current_authentication
from anchorid.wallet.protocol import TYPE_ENROLL, TYPE_LOGIN, b64url, build_csr, client_data

ORIGIN = "http://testserver"

pytestmark = pytest.mark.django_db


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Wallet:
    def __init__(self, account: Account) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.record = issue_device_certificate(
            account, load_csr(build_csr(self.key)), acr=Level.DERIVED.acr, enrolled_with="card"
        )
        self.der = bytes(self.record.der)

    def login_body(self, challenge: str, *, origin: str = ORIGIN, kind: str = TYPE_LOGIN) -> dict[str, str]:
        data = client_data(kind, challenge, origin)
        return {
            "certificate": b64(self.der),
            "client_data": b64url(data),
            "signature": b64(self.key.sign(data, ec.ECDSA(hashes.SHA256()))),
        }


@pytest.fixture
def wallet(device_ca: Any) -> Wallet:
    return Wallet(Account.objects.create_user("resident-wallet"))


def post(client: Client, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(path, json.dumps(body or {}), content_type="application/json")


def challenge(client: Client, path: str = "/login/wallet/challenge") -> str:
    value: str = post(client, path).json()["challenge"]
    return value


def current(client: Client) -> Any:
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.session = client.session
    from django.contrib.auth import get_user

    request.user = get_user(request)
    return current_authentication(request)


def test_it_logs_in_with_the_wallet_key(client: Client, wallet: Wallet) -> None:
    response = post(client, "/login/wallet", wallet.login_body(challenge(client)))
    assert response.status_code == 200, response.json()
    assert response.json()["acr"] == Level.DERIVED.acr
    assert response.json()["amr"] == [Method.DEVICE_KEY.value]
    login = current(client)
    assert login is not None
    assert login.level is Level.DERIVED
    assert login.authentication.methods == (Method.DEVICE_KEY,)
    assert login.credential == f"device_certificate:{wallet.record.subject_id}"
    entry = AuditEntry.objects.filter(event_type="login").get()
    assert entry.details["method"] == "device_key"


def test_it_refuses_a_replayed_challenge(client: Client, wallet: Wallet) -> None:
    body = wallet.login_body(challenge(client))
    assert post(client, "/login/wallet", body).status_code == 200
    again = post(Client(), "/login/wallet", body)
    assert again.status_code == 401
    assert again.json()["error"] == "challenge_replayed"


def test_it_refuses_a_signature_over_another_challenge(client: Client, wallet: Wallet) -> None:
    body = wallet.login_body(challenge(client))
    other = wallet.login_body(challenge(client))
    body["signature"] = other["signature"]
    response = post(client, "/login/wallet", body)
    assert response.status_code == 401
    assert response.json()["error"] == "signature_invalid"
    assert current(client) is None


def test_it_refuses_a_signature_made_for_another_origin(client: Client, wallet: Wallet) -> None:
    response = post(client, "/login/wallet", wallet.login_body(challenge(client), origin="https://evil.example"))
    assert response.json()["error"] == "origin_mismatch"


def test_it_refuses_an_enrollment_challenge(client: Client, wallet: Wallet) -> None:
    response = post(client, "/login/wallet", wallet.login_body(challenge(client, "/wallet/challenge")))
    assert response.json()["error"] == "challenge_wrong_purpose"


def test_it_refuses_client_data_of_another_type(client: Client, wallet: Wallet) -> None:
    response = post(client, "/login/wallet", wallet.login_body(challenge(client), kind=TYPE_ENROLL))
    assert response.json()["error"] == "client_data_invalid"


def test_it_refuses_a_revoked_certificate(client: Client, wallet: Wallet) -> None:
    revoke_device_certificate(wallet.record, x509.ReasonFlags.key_compromise)
    response = post(client, "/login/wallet", wallet.login_body(challenge(client)))
    assert response.status_code == 403
    assert response.json()["error"] == "certificate_revoked"
    assert current(client) is None


def test_it_refuses_a_held_certificate_until_the_account_resumes(client: Client, wallet: Wallet) -> None:
    account = wallet.record.account
    assert suspend_device_certificates(account) == 1
    response = post(client, "/login/wallet", wallet.login_body(challenge(client)))
    assert response.json()["error"] == "certificate_on_hold"
    assert resume_device_certificates(account) == 1
    assert post(client, "/login/wallet", wallet.login_body(challenge(client))).status_code == 200


def test_it_refuses_a_suspended_account(client: Client, wallet: Wallet) -> None:
    Account.objects.filter(pk=wallet.record.account_id).update(status=Account.Status.SUSPENDED)
    response = post(client, "/login/wallet", wallet.login_body(challenge(client)))
    assert response.status_code == 403
    assert response.json()["error"] == "account_suspended"


def test_it_revoking_the_certificate_ends_its_session(client: Client, wallet: Wallet) -> None:
    assert post(client, "/login/wallet", wallet.login_body(challenge(client))).status_code == 200
    assert current(client) is not None
    revoke_device_certificate(wallet.record)
    assert current(client) is None


def test_it_refuses_a_certificate_from_another_ca(client: Client, wallet: Wallet) -> None:
    """A look-alike CA with the very same names and profile: its certificate does not chain to our root."""
    now = datetime.datetime.now(datetime.UTC)
    fake_root_key = ec.generate_private_key(ec.SECP256R1())
    fake_root = profile.root_builder(fake_root_key.public_key(), now).sign(fake_root_key, hashes.SHA256())
    fake_issuing_key = ec.generate_private_key(ec.SECP256R1())
    fake_issuing = profile.issuing_builder(fake_issuing_key.public_key(), fake_root, ORIGIN, now).sign(
        fake_root_key, hashes.SHA256()
    )
    forged = profile.device_builder(
        wallet.key.public_key(),
        fake_issuing,
        subject_id=wallet.record.subject_id,
        serial=int(wallet.record.serial, 16),
        acr=Level.DERIVED.acr,
        base_url=ORIGIN,
        now=now,
    ).sign(fake_issuing_key, hashes.SHA256())
    wallet.der = forged.public_bytes(serialization.Encoding.DER)
    response = post(client, "/login/wallet", wallet.login_body(challenge(client)))
    assert response.status_code == 401
    assert response.json()["error"] == "untrusted_certificate"


def test_it_refuses_a_self_signed_certificate(client: Client, wallet: Wallet) -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, wallet.record.subject_id)])
    now = datetime.datetime.now(datetime.UTC)
    self_signed = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(wallet.key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(wallet.key, hashes.SHA256())
    )
    wallet.der = self_signed.public_bytes(serialization.Encoding.DER)
    response = post(client, "/login/wallet", wallet.login_body(challenge(client)))
    assert response.json()["error"] == "untrusted_certificate"


def test_it_refuses_garbage(client: Client, device_ca: Any) -> None:
    response = post(client, "/login/wallet", {"certificate": "!!", "client_data": "x", "signature": "y"})
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert DeviceCertificate.objects.count() == 0
