"""Card onboarding end to end: real jlis process, real card helper, virtual cards from jlis's counter."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from django.test import Client
from pytest_django.fixtures import Settings

from anchorid.cardhelper.helper import complete_with_code
from anchorid.idp.accounts.models import Account, AnchorCertificate
from anchorid.idp.assurance import Level
from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.sessions import SESSION_ACR
from anchorid.jpki.client import JPKICard
from anchorid.jpki.transport import EmulatorTransport

from .onboarding_support import ADULT_PLAIN, Helper, Jlis, card_certificate, free_port, onboard, open_page

pytestmark = pytest.mark.django_db


def test_it_onboards_a_resident_through_the_card_helper(
    idp: Jlis, card_helper: Callable[..., Helper], client: Client
) -> None:
    card = idp.adult(ADULT_PLAIN)
    response = onboard(client, card_helper(card["card_file"], card["signature_pin"]))
    assert response.status_code == 201, response.content
    assert response.json()["outcome"] == "created"
    assert response.json()["next"] == "/passkeys/register/"
    account = Account.objects.get()
    certificate = card_certificate(card["card_file"])
    anchor = AnchorCertificate.objects.get()
    assert (anchor.account_id, anchor.serial, anchor.current) == (account.pk, str(certificate.serial_number), True)
    info = account.attributes()
    assert info is not None
    assert info.address
    assert account.attributes_verified_how == "jpki-signature-certificate"
    assert account.attributes_verified_at is not None
    assert client.session[SESSION_ACR] == Level.CARD.acr
    onboarding = AuditEntry.objects.get(event_type="onboarding")
    assert onboarding.subject == str(account.pk)
    assert onboarding.details["account_recovered"] is False
    logged = json.dumps([e.details for e in AuditEntry.objects.all()], ensure_ascii=False)
    assert info.name not in logged
    assert info.address not in logged
    assert card["signature_pin"] not in logged


def test_it_logs_a_registered_resident_in_instead_of_opening_a_second_account(
    idp: Jlis, card_helper: Callable[..., Helper]
) -> None:
    card = idp.adult(ADULT_PLAIN)
    helper = card_helper(card["card_file"], card["signature_pin"])
    assert onboard(Client(), helper).status_code == 201
    again = onboard(Client(), helper)
    assert again.status_code == 200
    assert again.json()["outcome"] == "already_registered"
    assert Account.objects.count() == 1
    assert AnchorCertificate.objects.count() == 1


def test_it_shows_the_page_in_japanese_first_and_in_english(idp: Jlis, client: Client) -> None:
    japanese = client.get("/onboarding/").content.decode()
    assert "マイナンバーカードで登録" in japanese
    assert "15歳未満" in japanese
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get("/onboarding/").content.decode()
    assert "Register with your My Number Card" in english
    assert "under 15" in english


def test_it_lets_only_this_page_reach_the_card_helper_and_keeps_scripts_out_of_the_page(
    idp: Jlis, client: Client
) -> None:
    response = client.get("/onboarding/")
    policy = response["Content-Security-Policy"]
    assert "connect-src 'self' http://127.0.0.1:31519" in policy
    assert "unsafe-inline" not in policy
    assert "<script>" not in response.content.decode()
    assert "onboarding/onboarding.js" in response.content.decode()
    assert "<svg" in response.content.decode()  # the cross-device QR code
    assert "connect-src" not in client.get("/i18n/setlang/").get("Content-Security-Policy", "")


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def test_it_shows_a_phone_that_opens_the_qr_code_what_to_do_and_the_card_helper_the_challenge(
    idp: Jlis, client: Client
) -> None:
    challenge, _nonce, code = open_page(client)
    phone = Client(HTTP_ACCEPT=BROWSER_ACCEPT)
    page = phone.get(f"/onboarding/device/{code}/")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert page["Cache-Control"] == "no-store"  # the URL carries the one-time code
    assert "Accept" in page["Vary"]  # the same URL answers JSON to the card helper
    text = page.content.decode()
    assert "カードヘルパーで続けてください" in text
    assert f"anchorid card-helper --code http://testserver/onboarding/device/{code.replace('-', '')}/" in text
    assert challenge.split()[-1] not in text  # only the card helper gets (and signs) the challenge
    expired = phone.get("/onboarding/device/ZZZZ-ZZZZ/")
    assert expired.status_code == 404
    assert 'id="device-refusal"' in expired.content.decode()
    helper = Client().get(f"/onboarding/device/{code}/", HTTP_ACCEPT="*/*")
    assert helper.json()["challenge"] == challenge


def test_it_tells_an_under_15_resident_they_cannot_onboard_alone(
    idp: Jlis, card_helper: Callable[..., Helper], client: Client
) -> None:
    child = idp.child()
    challenge, _, _ = open_page(client)
    answer = card_helper(child["card_file"], child["authentication_pin"]).sign(challenge)
    assert answer.status_code == 409
    assert answer.json()["error"] == "no_signature_certificate"
    assert "under 15" in answer.json()["message"]
    assert "15歳未満の方は署名用電子証明書がないため" in client.get("/onboarding/").content.decode()
    assert Account.objects.count() == 0


def test_it_fails_closed_when_jlis_is_unreachable(
    idp: Jlis, card_helper: Callable[..., Helper], client: Client, settings: Settings
) -> None:
    card = idp.adult(ADULT_PLAIN)
    settings.ANCHORID_JLIS_URL = f"http://127.0.0.1:{free_port()}"
    response = onboard(client, card_helper(card["card_file"], card["signature_pin"]))
    assert response.status_code == 503
    assert response.json()["error"] == "jlis_unavailable"
    assert "J-LIS" in response.json()["message"]
    assert Account.objects.count() == 0
    assert AuditEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_it_completes_an_onboarding_from_another_device_with_the_code(
    idp: Jlis, live_server: Any, settings: Settings, tmp_path: Path
) -> None:
    settings.ANCHORID_IDP_ORIGIN = live_server.url
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    card = idp.adult(ADULT_PLAIN)
    browser = requests.Session()
    page = browser.get(f"{live_server.url}/onboarding/", timeout=10)
    code = page.text.split('class="onboarding-code"><strong>')[1].split("<")[0]
    nonce = page.text.split('data-nonce="')[1].split('"')[0]
    status = f"{live_server.url}/onboarding/status/?challenge={nonce}"
    assert browser.get(status, timeout=10).json() == {"state": "pending"}

    card_file = tmp_path / "card.json"
    shutil.copy2(card["card_file"], card_file)
    result: dict[str, Any] = {}
    other_device = threading.Thread(
        target=lambda: result.update(
            done=complete_with_code(
                code, live_server.url, lambda: JPKICard(EmulatorTransport(card_file)), lambda _: card["signature_pin"]
            )
        )
    )
    other_device.start()
    other_device.join(timeout=60)
    assert result["done"].ok, result["done"]
    assert result["done"].outcome == "created"

    deadline = time.monotonic() + 10
    while (answer := browser.get(status, timeout=10).json()).get("state") == "pending" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert answer["state"] == "done"
    assert answer["next"] == "/passkeys/register/"
    assert browser.get(status, timeout=10).json()["error"] == "challenge_replayed"  # delivered once
    assert Account.objects.count() == 1
    assert AuditEntry.objects.get(event_type="onboarding").details["method"] == "card_cross_device"
