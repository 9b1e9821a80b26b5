"""Merchant-to-merchant payments: a shop pays another from its coin balance, so the analytics can tell coins that
circulated in the city from coins redeemed to a bank; refusals write nothing."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from anchorid.currency import analytics, service
from anchorid.currency.ledger import service as ledger
from anchorid.currency.ledger.models import Transfer
from anchorid.currency.models import Member, Merchant

from .conftest import RESIDENT, log_in

pytestmark = pytest.mark.django_db


def shop(owner: str, name: str, *, local: bool = True, approved: bool = True) -> Merchant:
    merchant = service.register_merchant(owner, name, "food", local=local)
    if approved:
        service.approve_merchant(merchant)
    merchant.refresh_from_db()
    return merchant


def balance(merchant: Merchant) -> int:
    return ledger.account(merchant.account_id).balance


def test_it_lets_a_shop_pay_another_from_its_page_once_per_form(resident_client: tuple[Client, Member]) -> None:
    client, owner = resident_client
    bakery, mill = shop(owner.sub, "鎌倉パン"), shop("miller-sub", "製粉所")
    service.charge(owner, 5_000, "charge-1")
    service.pay(owner, bakery, 3_000, "pay-1")
    link = f"http://testserver/pay/{mill.qr_token}/"
    for _ in range(2):  # a double submit
        client.post(f"/merchant/{bakery.pk}/pay/", {"shop": link, "amount": "1,200", "transfer_id": "m2m-1"})
    assert (balance(bakery), balance(mill)) == (1_800, 1_200)
    statement = client.get(f"/merchant/{bakery.pk}/statement.csv").content.decode()
    assert "shop payment,-1200" in statement
    assert ledger.check_invariants() == []


@pytest.mark.parametrize(
    ("what", "amount"),
    [("self", "100"), ("unknown", "100"), ("pending", "100"), ("good", "-5"), ("good", "0.5"), ("good", "9999999"),
     ("good", "100000")],
)  # fmt: skip
def test_it_refuses_bad_shop_payments_writing_nothing(
    resident_client: tuple[Client, Member], what: str, amount: str
) -> None:
    client, owner = resident_client
    bakery = shop(owner.sub, "鎌倉パン")
    service.charge(owner, 5_000, "charge-1")
    service.pay(owner, bakery, 3_000, "pay-1")
    payee = {
        "self": bakery.qr_token,
        "unknown": "no-such-shop",
        "pending": shop("other", "未承認", approved=False).qr_token,
        "good": shop("other", "製粉所").qr_token,
    }[what]
    before = Transfer.objects.count()
    answer = client.post(f"/merchant/{bakery.pk}/pay/", {"shop": payee, "amount": amount, "transfer_id": "m2m-x"})
    assert answer.status_code == 302
    assert Transfer.objects.count() == before
    assert balance(bakery) == 3_000
    other = Client()
    log_in(other, "stranger-sub", RESIDENT)  # not the shop's owner
    answer = other.post(f"/merchant/{bakery.pk}/pay/", {"shop": payee, "amount": "10", "transfer_id": "m2m-y"})
    assert answer.status_code == 404


def test_it_splits_circulation_into_local_merchant_to_merchant_and_redeemed(
    resident_client: tuple[Client, Member],
) -> None:
    _client, _owner = resident_client
    mill = shop("miller-sub", "製粉所")
    bakeries = [shop(f"baker-{n}", f"パン屋{n}") for n in range(10)]
    for n, bakery in enumerate(bakeries):
        member = service.join(f"customer-{n}", RESIDENT)
        service.charge(member, 2_000, f"c{n}")
        service.pay(member, bakery, 1_000, f"p{n}")
        service.pay_merchant(bakery, mill, 400, f"m{n}")
    for bakery in bakeries[:9]:  # nine redeem: suppressed
        service.settle(bakery, timezone.localdate() - datetime.timedelta(days=1))
    cells = {cell.label: cell for cell in analytics.circulation()}
    assert (cells["spent at local merchants"].people, cells["spent at local merchants"].amount) == (10, 10_000)
    local = cells["circulated locally (merchant to merchant)"]
    assert (local.people, local.amount) == (10, 4_000)
    assert cells["left (redeemed to banks)"].suppressed
