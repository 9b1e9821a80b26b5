"""The currency's business rules: tiers, charges with the premium, two-phase payments, refunds, transfers between
residents, benefits once per person, budget exhaustion and return, settlement with the fee, the prepaid report."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connections
from django.utils import timezone

from anchorid.currency import service
from anchorid.currency.ledger import service as ledger
from anchorid.currency.ledger.models import Account, Transfer
from anchorid.currency.models import Claim, Member, Merchant, Payment
from anchorid.currency.service import Refused

RESIDENT = {"resident_of": "142042"}
SENIOR = {"resident_of": "142042", "age_over_65": True}
VISITOR = {"resident_of": "131016"}


@pytest.fixture
def shop(db: None) -> Merchant:
    merchant = service.register_merchant("owner-sub", "鎌倉パン", "food")
    service.approve_merchant(merchant)
    merchant.refresh_from_db()
    return merchant


def money_moved() -> int:
    return Transfer.objects.count()


@pytest.mark.django_db
def test_it_gives_residents_the_premium_and_visitors_a_lower_ceiling(shop: Merchant) -> None:
    resident = service.join("sub-r", RESIDENT)
    visitor = service.join("sub-v", VISITOR)
    assert (resident.tier, visitor.tier) == ("resident", "visitor")
    assert service.charge(resident, 10_000, "c1") == (10_000, 1_000)
    assert service.charge(resident, 10_000, "c1") == (10_000, 1_000)  # a retry: nothing more
    assert service.balance(resident) == 11_000
    assert service.charge(visitor, 10_000, "c2") == (10_000, 0)
    with pytest.raises(Refused, match="exceeds_limit"):
        service.charge(visitor, 95_000, "c3")
    assert [holding.kind for holding in service.holdings(resident)] == ["premium", "purchased"]
    assert ledger.check_invariants() == []


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["-5", "0", "1.5", "１００", "10000000", "", "abc", "1e3"])
def test_it_refuses_bad_amounts_typed_in(raw: str) -> None:
    with pytest.raises(Refused, match="invalid_amount"):
        service.parse_amount(raw)


@pytest.mark.django_db
def test_it_authorises_captures_voids_and_refunds_payments(shop: Merchant) -> None:
    member = service.join("sub-r", RESIDENT)
    service.charge(member, 1_000, "c1")  # + 100 premium
    payment = service.pay(member, shop, 300, "pay-1")
    assert payment.state == "captured"
    assert service.balance(member) == 800
    assert service.pay(member, shop, 300, "pay-1").state == "captured"  # a retry
    with pytest.raises(Refused, match="exists_with_different_fields"):
        service.pay(member, shop, 301, "pay-1")
    held = service.authorise(member, shop, 500, "pay-2", "token")
    assert service.balance(member) == 300
    service.void(held)
    assert service.balance(member) == 800
    with pytest.raises(Refused, match="exceeds_credits"):
        service.pay(member, shop, 5_000, "pay-3")
    service.refund(payment, 100, "r1")
    service.refund(payment, 100, "r1")  # a retry
    with pytest.raises(Refused, match="exceeds_payment"):
        service.refund(payment, 250, "r2")
    payment.refresh_from_db()
    assert payment.refunded == 100
    assert service.balance(member) == 900
    assert ledger.account(shop.account_id).balance == 200
    assert ledger.check_invariants() == []


@pytest.mark.django_db
def test_it_refuses_a_merchant_not_approved_writing_nothing() -> None:
    member = service.join("sub-r", RESIDENT)
    service.charge(member, 1_000, "c1")
    pending_shop = service.register_merchant("owner", "未承認商店", "retail")
    before = money_moved()
    with pytest.raises(Refused, match="merchant_not_approved"):
        service.pay(member, pending_shop, 100, "pay-x")
    assert money_moved() == before
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_it_lets_only_residents_send_to_each_other(shop: Merchant) -> None:
    alice, bob, visitor = service.join("a", RESIDENT), service.join("b", RESIDENT), service.join("v", VISITOR)
    service.charge(alice, 1_000, "c1")
    service.charge(visitor, 1_000, "c2")
    service.send(alice, bob, 400, "p2p-1")
    assert service.balance(bob) == 400
    with pytest.raises(Refused, match="tier_forbids"):
        service.send(visitor, bob, 100, "p2p-2")


@pytest.mark.django_db
def test_it_pays_a_benefit_once_to_eligible_residents_until_the_budget_runs_out(shop: Merchant) -> None:
    programme = service.create_programme("高齢者応援給付", amount=5_000, budget=10_000, needs_age_over_65=True)
    senior, young, visitor = service.join("s1", SENIOR), service.join("y1", RESIDENT), service.join("v1", VISITOR)
    made, paid = service.claim(senior, programme, SENIOR)
    assert paid
    assert service.balance(senior) == 5_000
    again, paid_again = service.claim(senior, programme, SENIOR)
    assert again.pk == made.pk
    assert not paid_again
    assert service.balance(senior) == 5_000
    for member, claims in ((young, RESIDENT), (visitor, VISITOR)):
        with pytest.raises(Refused, match="not_eligible"):
            service.claim(member, programme, claims)
    service.claim(service.join("s2", SENIOR), programme, SENIOR)
    with pytest.raises(Refused, match="budget_exhausted"):
        service.claim(service.join("s3", SENIOR), programme, SENIOR)
    assert Claim.objects.count() == 2  # the refused claim left no row
    # benefit coins are usable at local merchants only
    far = service.register_merchant("o", "東京の店", "retail", local=False)
    service.approve_merchant(far)
    far.refresh_from_db()
    with pytest.raises(Refused, match="exceeds_spendable_lots"):
        service.pay(senior, far, 100, "far-1")
    service.pay(senior, shop, 100, "near-1")
    assert ledger.check_invariants() == []


@pytest.mark.django_db
def test_it_returns_the_unclaimed_budget_once_after_the_window() -> None:
    programme = service.create_programme("子育て給付", amount=1_000, budget=5_000)
    service.claim(service.join("r1", RESIDENT), programme, RESIDENT)
    with pytest.raises(Refused, match="claim_window_open"):
        service.close_programme(programme)
    later = programme.closes_at + datetime.timedelta(seconds=1)
    assert service.close_programme(programme, now=later) == 4_000
    assert service.close_programme(programme, now=later) == 0
    assert Account.objects.get(pk=programme.account_id).balance == 0
    assert Account.objects.get(code="city:treasury").balance == -1_000


@pytest.mark.django_db(transaction=True)
def test_it_pays_one_benefit_for_concurrent_claims_by_one_person() -> None:
    programme = service.create_programme("一律給付", amount=3_000, budget=300_000)
    member = service.join("same-person", RESIDENT)
    outcomes: list[bool] = []

    def claim() -> None:
        try:
            outcomes.append(service.claim(member, programme, RESIDENT)[1])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False, False, False, True]
    assert Claim.objects.count() == 1
    assert service.balance(Member.objects.get(sub="same-person")) == 3_000


@pytest.mark.django_db
def test_it_settles_a_merchant_daily_with_the_fee_once(shop: Merchant) -> None:
    member = service.join("sub-r", RESIDENT)
    service.charge(member, 20_000, "c1")
    service.pay(member, shop, 10_000, "p1")
    today = timezone.localdate()
    settlement = service.settle(shop, today)
    assert settlement is not None
    assert (settlement.gross, settlement.fee, settlement.net) == (10_000, 150, 9_850)
    assert service.settle(shop, today) == settlement
    assert Account.objects.get(pk=shop.account_id).balance == 0
    assert Account.objects.get(code="fees").balance == 150
    rows = service.statement_rows(shop)
    assert rows[1][1:3] == ["payment", "10000"]
    assert rows[2][1:3] == ["settlement", "-9850"]


@pytest.mark.django_db
def test_it_reports_purchased_value_and_the_deposit_apart_from_free_coins() -> None:
    for n in range(3):
        member = service.join(f"r{n}", RESIDENT)
        Account.objects.filter(pk=member.account_id).update(max_balance=None)
        service.charge(member, 1_000_000, f"c{n}")
        service.charge(member, 1_000_000, f"d{n}")
        service.charge(member, 1_000_000, f"e{n}")
        service.charge(member, 1_000_000, f"f{n}")
    report = service.prepaid_report(datetime.date(2027, 4, 5))
    assert report.base_date == datetime.date(2027, 3, 31)
    assert report.purchased_unused == 12_000_000
    assert report.free_unused == 1_200_000
    assert report.deposit_required == 1_000_000
