"""The wallet, payment, terminal, benefit, merchant and issuer pages: what they show and how they refuse bad input
(4xx, nothing written)."""

from __future__ import annotations

import datetime
import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from anchorid.currency import service
from anchorid.currency.ledger.models import Transfer
from anchorid.currency.models import Claim, Member, Merchant, Payment, PaymentToken

from .conftest import RESIDENT, VISITOR, log_in

pytestmark = pytest.mark.django_db


def shop_of(owner: Member, *, approved: bool = True) -> Merchant:
    merchant = service.register_merchant(owner.sub, "鎌倉パン", "food")
    if approved:
        service.approve_merchant(merchant)
    merchant.refresh_from_db()
    return merchant


def test_it_shows_the_wallet_and_charges_once_per_form(resident_client: tuple[Client, Member]) -> None:
    client, member = resident_client
    page = client.get("/")
    assert page.status_code == 200
    assert "resident_of" not in page.content.decode()
    for _ in range(2):  # a double submit of one form
        client.post("/charge/", {"amount": "5,000", "charge_id": "charge-abc"})
    assert service.balance(member) == 5_500
    page = client.get("/").content.decode()
    assert 'id="balance">5,500<' in page


@pytest.mark.parametrize("amount", ["-1", "0", "0.5", "99999999", "abc", ""])
def test_it_refuses_bad_charges_writing_nothing(resident_client: tuple[Client, Member], amount: str) -> None:
    client, _member = resident_client
    client.post("/charge/", {"amount": amount, "charge_id": "charge-x"})
    assert not Transfer.objects.exists()


def test_it_pays_by_static_qr_below_the_step_up_and_redirects_above(resident_client: tuple[Client, Member]) -> None:
    client, member = resident_client
    service.charge(member, 10_000, "c1")
    merchant = shop_of(member)
    assert client.get(f"/pay/{merchant.qr_token}/").status_code == 200
    client.post(f"/pay/{merchant.qr_token}/", {"amount": "1200", "payment_id": "pay-1"})
    assert Payment.objects.get(pk="pay-1").state == "captured"
    assert client.get("/pay/tampered-token/").status_code == 404
    assert client.post(f"/pay/{merchant.qr_token}/", {"amount": "-3", "payment_id": "pay-2"}).status_code == 400


def test_it_refuses_payment_to_a_shop_not_approved(resident_client: tuple[Client, Member]) -> None:
    client, member = resident_client
    service.charge(member, 1_000, "c1")
    merchant = shop_of(member, approved=False)
    assert client.get(f"/pay/{merchant.qr_token}/").status_code == 409
    assert client.post(f"/pay/{merchant.qr_token}/", {"amount": "100", "payment_id": "p1"}).status_code == 400
    assert not Payment.objects.exists()


def read(client: Client, merchant: Merchant, body: object) -> tuple[int, dict[str, object]]:
    response = client.post(f"/merchant/{merchant.pk}/read", json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def test_it_authorises_a_payment_code_read_by_the_terminal_and_the_resident_confirms(
    resident_client: tuple[Client, Member],
) -> None:
    client, member = resident_client
    service.charge(member, 3_000, "c1")
    merchant = shop_of(member)
    client.post("/code/")
    token = PaymentToken.objects.get()
    status, answer = read(client, merchant, {"code": f"KMC1:{token.token}", "amount": 800, "payment_id": "pay-t1"})
    assert status == 200
    assert answer["state"] == "authorised"
    assert client.get(f"/code/{token.token}/status").json()["state"] == "authorised"
    client.post(f"/code/{token.token}/confirm")
    assert Payment.objects.get(pk="pay-t1").state == "captured"
    assert client.get(f"/merchant/{merchant.pk}/payments.json").json()["payments"][0]["state"] == "captured"
    # the same code again: refused (one use)
    status, answer = read(client, merchant, {"code": f"KMC1:{token.token}", "amount": 100, "payment_id": "pay-t2"})
    assert status == 400
    assert answer["error"] == "token_unknown"


@pytest.mark.parametrize(
    "body",
    [
        {"code": "KMC1:nope", "amount": 100, "payment_id": "p"},
        {"code": "something else", "amount": 100, "payment_id": "p"},
        {"code": None, "amount": 100, "payment_id": "p"},
        ["a list"],
        {"code": "KMC1:x", "amount": 1.5, "payment_id": "p"},
        {"code": "KMC1:x", "amount": True, "payment_id": "p"},
    ],
)
def test_it_refuses_tampered_or_malformed_codes_writing_nothing(
    resident_client: tuple[Client, Member], body: object
) -> None:
    client, member = resident_client
    merchant = shop_of(member)
    status, answer = read(client, merchant, body)
    assert status == 400
    assert "error" in answer
    assert not Payment.objects.exists()


def test_it_refuses_an_expired_payment_code(resident_client: tuple[Client, Member]) -> None:
    client, member = resident_client
    service.charge(member, 3_000, "c1")
    merchant = shop_of(member)
    client.post("/code/")
    PaymentToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    token = PaymentToken.objects.get()
    status, answer = read(client, merchant, {"code": f"KMC1:{token.token}", "amount": 100, "payment_id": "p1"})
    assert status == 400
    assert answer["error"] == "token_expired"
    assert not Payment.objects.exists()


def test_it_refunds_from_the_merchant_page(resident_client: tuple[Client, Member]) -> None:
    client, member = resident_client
    service.charge(member, 3_000, "c1")
    merchant = shop_of(member)
    service.pay(member, merchant, 1_000, "pay-1")
    assert client.get(f"/merchant/{merchant.pk}/").status_code == 200
    client.post(f"/merchant/{merchant.pk}/refund/pay-1/", {"amount": "400", "refund_id": "refund-1"})
    assert Payment.objects.get(pk="pay-1").refunded == 400
    assert service.balance(member) == 2_700
    statement = client.get(f"/merchant/{merchant.pk}/statement.csv")
    assert statement["Content-Type"].startswith("text/csv")
    assert b"payment,1000,400,captured" in statement.content


def test_it_lets_a_resident_claim_once_and_refuses_a_visitor() -> None:
    programme = service.create_programme("くらし応援", amount=3_000, budget=30_000)
    resident, visitor = Client(), Client()
    member = log_in(resident, "r", RESIDENT)
    log_in(visitor, "v", VISITOR)
    other_browser = Client()
    log_in(other_browser, "r", RESIDENT)
    resident.post(f"/benefits/{programme.pk}/claim/")
    other_browser.post(f"/benefits/{programme.pk}/claim/")
    visitor.post(f"/benefits/{programme.pk}/claim/")
    assert Claim.objects.count() == 1
    assert service.balance(member) == 3_000
    assert service.balance(Member.objects.get(sub="v")) == 0


def test_it_keeps_issuer_pages_for_staff_and_approves_merchants(resident_client: tuple[Client, Member]) -> None:
    client, member = resident_client
    merchant = shop_of(member, approved=False)
    assert client.get("/issuer/").status_code == 302  # to the staff login
    staff = Client()
    staff.force_login(User.objects.create_user("issuer", password="x", is_staff=True))
    assert staff.get("/issuer/").status_code == 200
    staff.post("/issuer/", {"action": "approve", "merchant": str(merchant.pk)})
    merchant.refresh_from_db()
    assert merchant.status == "approved"
    assert staff.post("/issuer/", {"action": "nonsense"}).status_code == 400
