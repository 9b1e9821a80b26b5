"""Credits from partner services (docs/currency.md, "The API"): a partner — the health points app — pays a member
from its prepaid account at the issuer, through ``POST /api/v1/credits`` with a token the idp exchanged for it.

- The partner chose the transfer id and kept it before calling; the ledger transfer's id is derived from the partner
  and that id (``partner:<n>:<id>``), so a retry is answered ``exists`` and nothing is paid twice, and two partners'
  ids never collide.
- The monthly cap comes from the consent (the token's ``authorization_details``): a guarded ``UPDATE`` of the
  member's month row for that partner, in the same database transaction as the ledger transfer, so concurrent
  credits cannot pass it together; a refused credit leaves the counter and the ledger as they were.
- The coins arrive as a lot tagged ``points``, valid ``coin_days`` (like a benefit's coins), spendable everywhere.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from anchorid.currency import service
from anchorid.currency.ledger import service as ledger
from anchorid.currency.ledger.service import LotSpec, TransferSpec
from anchorid.currency.models import Member, Partner, PartnerCredit, PartnerMonth
from anchorid.currency.service import Refused

POINTS = service.PARTNER_POINTS
#: One credit is at most this many yen (a walking award is a few hundred).
MAX_CREDIT = 100_000
MAX_CAP = 1_000_000
TRANSFER_ID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")
MAX_MEMO = 100
CREDIT_CODE = 12
FUNDING_CODE = 13


def register(client_id: str, name: str, *, coin_days: int = 183) -> Partner:
    """The partner for ``client_id`` and its prepaid account (created once; a second call updates the name)."""
    client_id, name = (client_id or "").strip(), (name or "").strip()
    if not 0 < len(client_id) <= 255 or not 0 < len(name) <= 100 or not 0 < coin_days <= 3660:
        raise Refused("invalid_partner")
    account = ledger.open_account(f"partner:{client_id}"[:64], "partner", guard_debits=True)
    partner, created = Partner.objects.get_or_create(
        client_id=client_id, defaults={"name": name, "account_id": account.pk, "coin_days": coin_days}
    )
    if not created and (partner.name, partner.coin_days) != (name, coin_days):
        Partner.objects.filter(pk=partner.pk).update(name=name, coin_days=coin_days)
        partner.refresh_from_db()
    return partner


def fund(partner: Partner, amount: int, funding_id: str) -> int:
    """The partner prepays ``amount`` yen into its account (from the issuer's bank account); its balance after."""
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= 10**10:
        raise Refused("invalid_amount")
    spec = TransferSpec(
        id=funding_id, debit_account=service.system_account("issuer:bank").pk, credit_account=partner.account_id,
        amount=amount, code=FUNDING_CODE, memo="partner funding",
    )  # fmt: skip
    result = ledger.create_transfer(spec)
    if not result.ok:
        raise Refused(result.status)
    return balance(partner)


def balance(partner: Partner) -> int:
    from anchorid.currency.ledger.models import Account

    return Account.objects.get(pk=partner.account_id).balance


@dataclass(frozen=True)
class Credit:
    status: str  # created or exists
    transfer_id: str
    amount: int
    credited_at: datetime.datetime
    #: What this partner has credited the member this month, this credit included.
    month_total: int


def check_request(transfer_id: object, amount: object, memo: object, monthly_cap: object) -> None:
    """Refuse (``Refused("invalid_request")`` etc.) what the database need not see."""
    if not isinstance(transfer_id, str) or not TRANSFER_ID.match(transfer_id):
        raise Refused("invalid_transfer_id")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_CREDIT:
        raise Refused("invalid_amount")
    if not isinstance(memo, str) or len(memo) > MAX_MEMO:
        raise Refused("invalid_memo")
    if not isinstance(monthly_cap, int) or isinstance(monthly_cap, bool) or not 0 < monthly_cap <= MAX_CAP:
        raise Refused("invalid_cap")


def _month(now: datetime.datetime) -> str:
    return timezone.localtime(now).strftime("%Y-%m")


def _existing(partner: Partner, member: Member, transfer_id: str, amount: int, memo: str) -> Credit | None:
    found = PartnerCredit.objects.filter(partner=partner, partner_transfer_id=transfer_id).first()
    if found is None:
        return None
    if (found.member_id, found.amount, found.memo) != (member.pk, amount, memo):
        raise Refused("exists_with_different_fields")
    total = PartnerMonth.objects.filter(partner=partner, member=member, month=found.month).values_list(
        "credited", flat=True
    )
    return Credit("exists", transfer_id, found.amount, found.created_at, int(total.first() or 0))


class _Lost(Exception):
    """A concurrent request with the same transfer id committed first: undo ours, answer theirs."""


def credit(
    *, client_id: str, sub: str, transfer_id: str, amount: int, memo: str, monthly_cap: int,
    now: datetime.datetime | None = None,
) -> Credit:  # fmt: skip
    """Credit ``amount`` yen from the partner ``client_id`` to the member whose pairwise ``sub`` this is, once per
    ``transfer_id``; refused (``Refused``) past the monthly cap, when the partner's account cannot pay, or when the
    wallet would go over its ceiling — with nothing written."""
    check_request(transfer_id, amount, memo, monthly_cap)
    partner = Partner.objects.filter(client_id=client_id, active=True).first()
    if partner is None:
        raise Refused("unknown_partner")
    member = Member.objects.filter(sub=sub).first()
    if member is None:
        raise Refused("not_a_member")
    done = _existing(partner, member, transfer_id, amount, memo)
    if done is not None:
        return done
    now = now or timezone.now()
    month = _month(now)
    ledger_id = f"partner:{partner.pk}:{transfer_id}"
    try:
        with transaction.atomic():
            row, _ = PartnerMonth.objects.get_or_create(partner=partner, member=member, month=month)
            capped = PartnerMonth.objects.filter(pk=row.pk, credited__lte=monthly_cap - amount)
            if not capped.update(credited=F("credited") + amount):
                raise Refused("monthly_cap_exceeded")
            spec = TransferSpec(
                id=ledger_id, debit_account=partner.account_id, credit_account=member.account_id, amount=amount,
                code=CREDIT_CODE, memo="partner points",
                lots=(LotSpec(amount, service.end_of_day(partner.coin_days), POINTS),),
            )  # fmt: skip
            result = ledger.create_transfer(spec, now=now)
            if result.status == ledger.EXISTS:
                raise _Lost
            if not result.ok:
                raise Refused("partner_funds_exhausted" if result.status == "exceeds_credits" else result.status)
            made = PartnerCredit.objects.create(
                transfer_id=ledger_id, partner=partner, partner_transfer_id=transfer_id, member=member,
                amount=amount, month=month, memo=memo,
            )  # fmt: skip
            total = PartnerMonth.objects.values_list("credited", flat=True).get(pk=row.pk)
    except (_Lost, IntegrityError):
        done = _existing(partner, member, transfer_id, amount, memo)
        if done is None:
            raise Refused("try_again") from None
        return done
    return Credit("created", transfer_id, amount, made.created_at, int(total))
