"""Credits from partner services (``anchorid.currency.partners``): once per transfer id, within the monthly cap the
resident consented to, paid from the partner's prepaid account, refused with nothing written otherwise. (The API
around it, with exchanged tokens from a real idp: tests/interop/test_health_points_link.py.)"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from anchorid.currency import partners, service
from anchorid.currency.ledger import service as ledger
from anchorid.currency.ledger.models import Account, Lot, Transfer
from anchorid.currency.models import Member, Partner, PartnerCredit, PartnerMonth
from anchorid.currency.service import Refused

pytestmark = pytest.mark.django_db
HEALTH = "providersim-health"


@pytest.fixture
def partner() -> Partner:
    made = partners.register(HEALTH, "かまくら健康ポイント")
    partners.fund(made, 10_000, "fund-1")
    return made


@pytest.fixture
def member() -> Member:
    return service.join("currency-sub-1", {"resident_of": "142042"})


def _credit(
    transfer_id: Any, amount: Any, *, sub: str = "currency-sub-1", cap: Any = 500, memo: Any = "walk"
) -> partners.Credit:
    """The service function as the API calls it, with whatever the body held (the types are checked inside)."""
    return partners.credit(
        client_id=HEALTH, sub=sub, transfer_id=transfer_id, amount=amount, memo=memo, monthly_cap=cap
    )


def _written() -> tuple[int, int, int]:
    return (
        Transfer.objects.count(),
        PartnerCredit.objects.count(),
        sum(PartnerMonth.objects.values_list("credited", flat=True)),
    )


def test_it_credits_once_per_transfer_id_as_an_expiring_points_lot(partner: Partner, member: Member) -> None:
    first = _credit("award-0001", 300)
    again = _credit("award-0001", 300)
    assert (first.status, again.status) == ("created", "exists")
    assert first.month_total == again.month_total == 300
    assert service.balance(member) == 300
    lot = Lot.objects.get(account_id=member.account_id)
    assert lot.tag == partners.POINTS
    assert lot.expires_at > timezone.now() + datetime.timedelta(days=180)
    assert partners.balance(partner) == 10_000 - 300
    assert ledger.check_invariants() == []
    assert [h.kind for h in service.holdings(member)] == ["points"]


def test_it_refuses_the_same_id_for_another_credit(partner: Partner, member: Member) -> None:
    _credit("award-0002", 100)
    before = _written()
    with pytest.raises(Refused) as refused:
        _credit("award-0002", 200)
    assert refused.value.code == "exists_with_different_fields"
    assert _written() == before


def test_it_enforces_the_monthly_cap_writing_nothing_past_it(partner: Partner, member: Member) -> None:
    _credit("award-0003", 400)
    before = _written()
    with pytest.raises(Refused) as refused:
        _credit("award-0004", 101)
    assert refused.value.code == "monthly_cap_exceeded"
    assert _written() == before
    assert _credit("award-0005", 100).month_total == 500
    assert service.balance(member) == 500


@pytest.mark.parametrize(
    ("transfer_id", "amount", "memo", "cap", "code"),
    [
        ("award-0006", 0, "", 500, "invalid_amount"),
        ("award-0006", -5, "", 500, "invalid_amount"),
        ("award-0006", 1.5, "", 500, "invalid_amount"),
        ("award-0006", "100", "", 500, "invalid_amount"),
        ("award-0006", True, "", 500, "invalid_amount"),
        ("award-0006", 10**15, "", 500, "invalid_amount"),
        ("short", 100, "", 500, "invalid_transfer_id"),
        ("award/../x1", 100, "", 500, "invalid_transfer_id"),
        (123456789, 100, "", 500, "invalid_transfer_id"),
        ("award-0006", 100, "x" * 101, 500, "invalid_memo"),
        ("award-0006", 100, "", None, "invalid_cap"),
        ("award-0006", 100, "", -1, "invalid_cap"),
    ],
)
def test_it_refuses_bad_input_writing_nothing(
    partner: Partner, member: Member, transfer_id: object, amount: object, memo: object, cap: object, code: str
) -> None:
    before = _written()
    with pytest.raises(Refused) as refused:
        _credit(transfer_id, amount, memo=memo, cap=cap)
    assert refused.value.code == code
    assert _written() == before


def test_it_refuses_strangers_and_an_empty_prepaid_account(partner: Partner, member: Member) -> None:
    with pytest.raises(Refused, match="not_a_member"):
        _credit("award-0007", 100, sub="nobody-here")
    with pytest.raises(Refused, match="unknown_partner"):
        partners.credit(client_id="city", sub=member.sub, transfer_id="award-0007", amount=1, memo="", monthly_cap=9)
    poor = partners.register("providersim-poor", "poor")
    with pytest.raises(Refused, match="partner_funds_exhausted"):
        partners.credit(client_id=poor.client_id, sub=member.sub, transfer_id="award-0008", amount=1, memo="",
                        monthly_cap=9)  # fmt: skip
    assert Account.objects.get(pk=member.account_id).balance == 0
    assert PartnerMonth.objects.filter(credited__gt=0).count() == 0
