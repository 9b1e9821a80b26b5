"""A negative test for each refusal of card onboarding: its own code and message, and nothing stored."""

from __future__ import annotations

import datetime
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from pytest_django.fixtures import Settings

from anchorid.idp.accounts.models import Account, AnchorCertificate
from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.onboarding.models import OnboardingChallenge
from anchorid.jpki.cardfile import KeySlot
from anchorid.jpki.certificates import parse_signature_certificate
from anchorid.jpki.profiles import CertKind, build_ca_certificate, build_signature_certificate

from .onboarding_support import (
    ADULT_PLAIN,
    ADULT_REVOKED,
    IDP_ORIGIN,
    Helper,
    Jlis,
    b64,
    card_certificate,
    card_sign,
    complete,
    der,
    onboard,
    open_page,
    utcnow,
)

pytestmark = pytest.mark.django_db


def assert_refused(response: object, status: int, code: str, *, accounts: int = 0) -> dict[str, object]:
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert response.status_code == status, body  # type: ignore[attr-defined]
    assert body["error"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert Account.objects.count() == accounts
    assert AnchorCertificate.objects.count() == accounts
    assert AuditEntry.objects.filter(event_type="onboarding").count() == accounts
    return body


def signed_by_card(client: Client, card: dict[str, str]) -> tuple[str, bytes]:
    """A fresh challenge of ``client``'s session and the card's own signature over it."""
    challenge, _, _ = open_page(client)
    return challenge, card_sign(card["card_file"], challenge.encode(), card["signature_pin"])


def forged_certificate(
    card: dict[str, str], issuer_key: rsa.RSAPrivateKey, *, test_ca: bool, **validity: object
) -> x509.Certificate:
    """A signature certificate for the card's own key, with its attributes, issued by ``issuer_key``."""
    genuine = card_certificate(card["card_file"])
    now = utcnow()
    ca = build_ca_certificate(
        CertKind.SIGNATURE,
        issuer_key,
        serial=7,
        not_before=now - datetime.timedelta(days=400),
        not_after=now + datetime.timedelta(days=3650),
        test=test_ca,
    )
    return build_signature_certificate(
        ca_certificate=ca,
        ca_key=issuer_key,
        public_key=genuine.public_key(),  # type: ignore[arg-type]
        info=parse_signature_certificate(genuine).info,
        serial=x509.random_serial_number(),
        not_before=validity.get("not_before", now - datetime.timedelta(days=1)),  # type: ignore[arg-type]
        not_after=validity.get("not_after", now + datetime.timedelta(days=365)),  # type: ignore[arg-type]
        locality="Kamakura-shi",
        test=test_ca,
    )


def test_it_refuses_a_replayed_challenge(idp: Jlis, card_helper: Callable[..., Helper], client: Client) -> None:
    card = idp.adult(ADULT_PLAIN)
    challenge, _, _ = open_page(client)
    signed = card_helper(card["card_file"], card["signature_pin"]).sign(challenge).json()
    assert complete(client, challenge, **signed).status_code == 201
    assert_refused(complete(client, challenge, **signed), 409, "challenge_replayed", accounts=1)


def test_it_refuses_an_expired_challenge(idp: Jlis, client: Client) -> None:
    card = idp.adult(ADULT_PLAIN)
    challenge, signature = signed_by_card(client, card)
    OnboardingChallenge.objects.update(expires_at=utcnow() - datetime.timedelta(seconds=1))
    response = complete(client, challenge, b64(der(card_certificate(card["card_file"]))), b64(signature))
    assert_refused(response, 410, "challenge_expired")


def test_it_refuses_a_challenge_of_another_session_without_burning_it(idp: Jlis, client: Client) -> None:
    card = idp.adult(ADULT_PLAIN)
    challenge, signature = signed_by_card(client, card)
    certificate = b64(der(card_certificate(card["card_file"])))
    assert_refused(complete(Client(), challenge, certificate, b64(signature)), 403, "challenge_other_session")
    assert complete(client, challenge, certificate, b64(signature)).status_code == 201


def test_it_refuses_an_unknown_challenge(idp: Jlis, client: Client) -> None:
    card = idp.adult(ADULT_PLAIN)
    challenge, signature = signed_by_card(client, card)
    OnboardingChallenge.objects.all().delete()
    certificate = b64(der(card_certificate(card["card_file"])))
    assert_refused(complete(client, challenge, certificate, b64(signature)), 400, "challenge_unknown")


def test_it_refuses_a_signature_over_another_challenge(
    idp: Jlis, card_helper: Callable[..., Helper], client: Client
) -> None:
    card = idp.adult(ADULT_PLAIN)
    first, _, _ = open_page(client)
    second, _, _ = open_page(client)
    signed = card_helper(card["card_file"], card["signature_pin"]).sign(first).json()
    assert_refused(complete(client, second, **signed), 422, "signature_mismatch")


def test_it_refuses_a_certificate_from_another_ca(idp: Jlis, client: Client) -> None:
    card = idp.adult(ADULT_PLAIN)
    challenge, signature = signed_by_card(client, card)
    rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = forged_certificate(card, rogue, test_ca=True)  # a real-looking JPKI *test* CA
    body = assert_refused(
        complete(client, challenge, b64(der(certificate)), b64(signature)), 422, "certificate_untrusted_issuer"
    )
    assert "J-LIS" in str(body["message"])


def test_it_refuses_a_certificate_forged_under_the_jpki_name(idp: Jlis, client: Client) -> None:
    card = idp.adult(ADULT_PLAIN)
    challenge, signature = signed_by_card(client, card)
    rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = forged_certificate(card, rogue, test_ca=False)  # same DN as J-LIS's CA, another key
    assert_refused(complete(client, challenge, b64(der(certificate)), b64(signature)), 422, "certificate_tampered")


def test_it_refuses_the_authentication_certificate(idp: Jlis, client: Client) -> None:
    card = idp.adult(ADULT_PLAIN)
    challenge, _, _ = open_page(client)
    signature = card_sign(card["card_file"], challenge.encode(), card["authentication_pin"], KeySlot.AUTHENTICATION)
    certificate = card_certificate(card["card_file"], KeySlot.AUTHENTICATION)
    response = complete(client, challenge, b64(der(certificate)), b64(signature))
    assert_refused(response, 422, "certificate_wrong_hierarchy")


def test_it_refuses_a_tampered_certificate(idp: Jlis, client: Client) -> None:
    card = idp.adult(ADULT_PLAIN)
    challenge, signature = signed_by_card(client, card)
    genuine = der(card_certificate(card["card_file"]))
    city = "鎌倉市".encode()
    assert city in genuine
    tampered = genuine.replace(city, "横浜市".encode(), 1)  # same length: still a well-formed certificate
    response = complete(client, challenge, b64(tampered), b64(signature))
    assert_refused(response, 422, "certificate_tampered")


def test_it_refuses_a_revoked_certificate_with_the_reason(
    idp: Jlis, card_helper: Callable[..., Helper], client: Client
) -> None:
    card = idp.adult(ADULT_REVOKED)
    idp.cli("move", "--resident", str(card["resident_id"]), "--address", "神奈川県鎌倉市材木座四丁目１番２号")
    body = assert_refused(
        onboard(client, card_helper(card["card_file"], card["signature_pin"])), 422, "certificate_revoked"
    )
    assert body["reason"] == "affiliation_changed"
    assert "住所または氏名の変更" in str(body["message"])  # the reason in words, Japanese first


def test_it_refuses_an_expired_certificate(idp: Jlis, client: Client) -> None:
    card = idp.adult(ADULT_PLAIN)
    challenge, signature = signed_by_card(client, card)
    now = utcnow()
    expired = forged_certificate(
        card,
        idp.ca_key(),
        test_ca=False,
        not_before=now - datetime.timedelta(days=800),
        not_after=now - datetime.timedelta(days=1),
    )
    assert_refused(complete(client, challenge, b64(der(expired)), b64(signature)), 422, "certificate_expired")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not json", 400, "malformed_request"),
        (b"[]", 400, "malformed_request"),
        (json.dumps({"challenge": "x"}).encode(), 400, "malformed_request"),
        (json.dumps({"challenge": "x", "certificate": "%%%", "signature": "AA"}).encode(), 400, "malformed_request"),
        (
            json.dumps({"challenge": "x", "certificate": b64(b"hello"), "signature": "AA"}).encode(),
            400,
            "not_a_certificate",
        ),
        (b"{" + b" " * 20000 + b"}", 413, "request_too_large"),
    ],
)
def test_it_refuses_malformed_input(idp: Jlis, client: Client, body: bytes, status: int, code: str) -> None:
    open_page(client)
    response = client.post("/onboarding/complete/", data=body, content_type="application/json")
    assert_refused(response, status, code)


def test_it_refuses_a_challenge_text_that_is_no_challenge(idp: Jlis, client: Client) -> None:
    card = idp.adult(ADULT_PLAIN)
    _, signature = signed_by_card(client, card)
    response = complete(client, "sign this contract", b64(der(card_certificate(card["card_file"]))), b64(signature))
    assert_refused(response, 400, "malformed_request")


def test_it_limits_attempts_per_ip_with_a_clear_message(idp: Jlis, client: Client, settings: Settings) -> None:
    settings.ANCHORID_ONBOARDING_LIMITS = {"ip": (3, 600)}
    for _ in range(3):
        client.post("/onboarding/complete/", data=b"{}", content_type="application/json")
    response = client.post("/onboarding/complete/", data=b"{}", content_type="application/json")
    body = assert_refused(response, 429, "rate_limited")
    assert response["Retry-After"]
    assert "分ほど待って" in str(body["message"])
    assert client.get("/onboarding/").status_code == 429


def test_it_limits_attempts_per_certificate(idp: Jlis, settings: Settings) -> None:
    settings.ANCHORID_ONBOARDING_LIMITS = {"certificate": (2, 600)}
    card = idp.adult(ADULT_PLAIN)
    certificate = b64(der(card_certificate(card["card_file"])))
    for attempt in range(3):
        client = Client(REMOTE_ADDR=f"10.0.0.{attempt}")
        challenge, _, _ = open_page(client)
        response = complete(client, challenge, certificate, b64(b"\x01" * 256))
    assert_refused(response, 429, "rate_limited")


# --- the card helper's own refusals (it never signs for another site) -------------------------------------------


def test_it_the_helper_refuses_other_origins_and_answers_cors_only_for_the_idp(
    idp: Jlis, card_helper: Callable[..., Helper]
) -> None:
    card = idp.adult(ADULT_PLAIN)
    helper = card_helper(card["card_file"], card["signature_pin"])
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = requests.options(f"{helper.url}/v1/sign", headers={"Origin": IDP_ORIGIN, **preflight}, timeout=5)
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == IDP_ORIGIN
    evil = requests.options(f"{helper.url}/v1/sign", headers={"Origin": "https://evil.example", **preflight}, timeout=5)
    assert evil.status_code == 403
    assert "Access-Control-Allow-Origin" not in evil.headers
    posted = helper.sign(f"anchorid-onboarding/1 https://evil.example {'A' * 43}", origin="https://evil.example")
    assert posted.status_code == 403
    assert "Access-Control-Allow-Origin" not in posted.headers


def test_it_the_helper_signs_only_onboarding_challenges_of_its_idp(
    idp: Jlis, card_helper: Callable[..., Helper]
) -> None:
    card = idp.adult(ADULT_PLAIN)
    helper = card_helper(card["card_file"], card["signature_pin"])
    assert helper.sign("a contract to sign").json()["error"] == "bad_request"
    other = helper.sign(f"anchorid-onboarding/1 https://evil.example {'A' * 43}")
    assert other.status_code == 403
    assert other.json()["error"] == "origin_mismatch"


def test_it_the_helper_reports_a_wrong_pin_with_tries_left(
    idp: Jlis, card_helper: Callable[..., Helper], client: Client, tmp_path: Path
) -> None:
    card_file = tmp_path / "card.json"
    shutil.copy2(idp.adult(ADULT_PLAIN)["card_file"], card_file)
    challenge, _, _ = open_page(client)
    answer = card_helper(card_file, "WRONG1234").sign(challenge)
    assert answer.status_code == 401
    assert answer.json() == {"error": "wrong_pin", "message": "wrong signature password: 4 tries left", "tries_left": 4}
