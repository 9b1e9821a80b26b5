"""Aggregates for the issuer and the city (the deck's reason for linking the card), never a per-person view.

Every cell counts the distinct people behind it; a cell with fewer than ``k`` people (default 10) is suppressed:
its amount and count are withheld (None) and the page says so. Charts are Vega-Lite specifications made with
Altair; each chart's rows are also offered as CSV (suppressed cells blank)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_noop

from anchorid.currency.models import Claim, Member, Payment, Programme

K = 10


@dataclass(frozen=True)
class Cell:
    label: str
    people: int | None
    amount: int | None

    @property
    def suppressed(self) -> bool:
        return self.people is None


def _cells(groups: dict[str, tuple[set[int], int]], k: int) -> list[Cell]:
    cells = []
    for label in sorted(groups):
        people, amount = groups[label]
        cells.append(Cell(label, len(people), amount) if len(people) >= k else Cell(label, None, None))
    return cells


def _spending(key: str) -> dict[str, tuple[set[int], int]]:
    groups: dict[str, tuple[set[int], int]] = defaultdict(lambda: (set(), 0))
    payments = Payment.objects.filter(state=Payment.CAPTURED).select_related("member", "merchant")
    for payment in payments:
        if key == "tier":
            label = payment.member.tier
        elif key == "category":
            label = payment.merchant.category
        elif key == "week":
            year, week, _ = payment.created_at.isocalendar()
            label = f"{year}-W{week:02d}"
        else:
            label = payment.member.age_band or "unknown"
        people, amount = groups[label]
        people.add(payment.member_id)
        groups[label] = (people, amount + payment.amount - payment.refunded)
    return groups


def spending(key: str, k: int = K) -> list[Cell]:
    """Captured spending (net of refunds) by ``tier`` (residents vs visitors), ``category``, ``week`` or
    ``age_band``."""
    return _cells(_spending(key), k)


def uptake(k: int = K) -> list[Cell]:
    """Per programme: people who claimed (``amount``: yen paid) beside the eligible members known here."""
    cells = []
    for programme in Programme.objects.order_by("pk"):
        claimed = Claim.objects.filter(programme=programme).count()
        members = Member.objects.filter(resident_of=programme.resident_of)
        if programme.needs_age_over_65:
            members = members.filter(age_band="65+")
        eligible = members.count()
        label = f"{programme.name}: claimed"
        cells.append(Cell(label, claimed, claimed * programme.amount) if claimed >= k else Cell(label, None, None))
        label = f"{programme.name}: eligible members"
        cells.append(Cell(label, eligible, None) if eligible >= k else Cell(label, None, None))
    return cells


def circulation(k: int = K) -> list[Cell]:
    """Where the coins residents and visitors paid went next: spent at local merchants, at merchants outside the city,
    passed on from merchant to merchant inside the city (circulated locally), or redeemed to a bank (left the
    currency). People are the distinct payers of each flow (members, or merchants for merchant-to-merchant flows
    and redemptions); a flow of fewer than ``k`` is suppressed like any other cell."""
    from anchorid.currency.ledger.models import Transfer
    from anchorid.currency.models import Merchant
    from anchorid.currency.service import MERCHANT_PAYMENT_CODE, SETTLEMENT_CODES

    groups: dict[str, tuple[set[int], int]] = defaultdict(lambda: (set(), 0))
    for payment in Payment.objects.filter(state=Payment.CAPTURED).select_related("merchant"):
        label = "spent at local merchants" if payment.merchant.local else "spent outside the city"
        people, amount = groups[label]
        people.add(payment.member_id)
        groups[label] = (people, amount + payment.amount - payment.refunded)
    merchants = {m.account_id: m for m in Merchant.objects.all()}
    flows = Transfer.objects.filter(code__in=(MERCHANT_PAYMENT_CODE, *SETTLEMENT_CODES)).values_list(
        "code", "debit_account_id", "credit_account_id", "amount"
    )
    for code, debit, credit, amount in flows:
        if code == MERCHANT_PAYMENT_CODE:
            payee = merchants.get(credit)
            label = "circulated locally (merchant to merchant)" if payee and payee.local else "spent outside the city"
        else:
            label = "left (redeemed to banks)"
        people, total = groups[label]
        people.add(-debit)  # merchants counted apart from members (negative keys never meet a member's id)
        groups[label] = (people, total + amount)
    return _cells(groups, k)


CHARTS = {
    "tier": gettext_noop("Spending by residents and visitors"),
    "category": gettext_noop("Spending by merchant category"),
    "week": gettext_noop("Spending by week"),
    "age_band": gettext_noop("Spending by age band"),
    "uptake": gettext_noop("Benefit uptake"),
    "circulation": gettext_noop("Where the coins went"),
}
#: The page's words for the groups the cells name (the CSV keeps the names themselves).
GROUP_LABELS = {
    "resident": gettext_noop("Residents"),
    "visitor": gettext_noop("Visitors"),
    "unknown": gettext_noop("Not released"),
    "food": gettext_noop("Food and drink"),
    "retail": gettext_noop("Shops"),
    "services": gettext_noop("Services"),
    "tourism": gettext_noop("Tourism"),
    "spent at local merchants": gettext_noop("Spent at local merchants"),
    "spent outside the city": gettext_noop("Spent outside the city"),
    "circulated locally (merchant to merchant)": gettext_noop("Passed on between local merchants"),
    "left (redeemed to banks)": gettext_noop("Redeemed to banks (left the currency)"),
}


def chart_cells(name: str, k: int = K) -> list[Cell]:
    if name == "uptake":
        return uptake(k)
    if name == "circulation":
        return circulation(k)
    return spending(name, k)


def vega_lite(name: str, cells: list[Cell]) -> dict[str, Any]:
    """The chart as a Vega-Lite specification (Altair), suppressed cells left out."""
    import altair as alt

    rows = [{"group": cell.label, "yen": cell.amount} for cell in cells if cell.amount is not None]
    chart = (
        alt.Chart(alt.Data(values=rows))  # type: ignore[no-untyped-call]
        .mark_bar()
        .encode(x=alt.X("group:N", title=None), y=alt.Y("yen:Q", title="yen"))
        .properties(title=CHARTS.get(name, name), width=400, height=200)
    )
    spec: dict[str, Any] = chart.to_dict()
    return spec


def as_csv(cells: list[Cell]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["group", "people", "yen", "suppressed"])
    for cell in cells:
        people = "" if cell.people is None else cell.people
        amount = "" if cell.amount is None else cell.amount
        writer.writerow([cell.label, people, amount, "yes" if cell.suppressed else ""])
    return out.getvalue()


def svg(name: str, cells: list[Cell]) -> str:
    import vl_convert

    drawn: str = vl_convert.vegalite_to_svg(vega_lite(name, cells))
    return drawn
