"""The currency's business on top of the ledger: members and tiers, charges with the resident campaign premium,
two-phase payments, refunds, transfers between residents, merchants and their settlement, benefits, the
prepaid-instrument report. Every movement of money is one ledger request whose id the caller chose and kept first
(a payment's id, a claim's id...), so a retry is answered ``exists`` and never moves money twice."""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from anchorid.currency.ledger import service as ledger
from anchorid.currency.ledger.models import Account, Lot, LotUse, Transfer
from anchorid.currency.ledger.service import LotSpec, TransferSpec
from anchorid.currency.models import Claim, Member, Merchant, Payment, Programme, Settlement

#: The issuing city's municipality code (Kamakura): a member whose verified ``resident_of`` is this is a resident.
HOME_MUNICIPALITY = "142042"
#: Wallet ceilings per tier (yen): a visitor's wallet holds less, and cannot send to other people.
MAX_BALANCE = {Member.RESIDENT: 500_000, Member.VISITOR: 100_000}
PURCHASED_DAYS = 365
PREMIUM_DAYS = 183
CAMPAIGN_PERCENT = 10
PAYMENT_TIMEOUT = 600
FEE_PER_MILLE = 15  # the redemption fee, 1.5 %
DEPOSIT_THRESHOLD = 10_000_000
PURCHASED, PREMIUM = "", "premium"
#: Partners' coins (anchorid.currency.partners: the health points app's awards), spendable everywhere.
PARTNER_POINTS = "points"

SYSTEM_ACCOUNTS = {
    "issuer:bank": "the issuer's bank account: residents' purchases come in, merchants' redemptions go out",
    "issuer:campaign": "the campaign budget paying premiums",
    "city:treasury": "the city's budget for benefit programmes",
    "expiry": "expired coins",
    "fees": "redemption fees",
}


class Refused(Exception):
    """A request the currency refuses; ``code`` says why (shown to the person in words, never as the code)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def system_account(code: str) -> Account:
    return ledger.open_account(code, code.split(":")[0])


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_urlsafe(12)}"


def _check_amount(amount: object) -> int:
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= 1_000_000:
        raise Refused("invalid_amount")
    return amount


def parse_amount(raw: str) -> int:
    """An amount typed in a form: whole yen, 1 to 1,000,000 (a comma is fine); else ``Refused``."""
    text = (raw or "").strip().replace(",", "")
    if not text.isascii() or not text.isdigit() or len(text) > 7:
        raise Refused("invalid_amount")
    return _check_amount(int(text))


def _done(result: ledger.Result) -> ledger.Result:
    if not result.ok:
        raise Refused(result.status)
    return result


# -- members ------------------------------------------------------------------------------------------------------


def tier_from_claims(claims: dict[str, Any]) -> str:
    return Member.RESIDENT if claims.get("resident_of") == HOME_MUNICIPALITY else Member.VISITOR


def join(sub: str, claims: dict[str, Any]) -> Member:
    """The member for this pairwise ``sub`` (created at the first login); the tier follows the latest claims."""
    tier = tier_from_claims(claims)
    resident_of = str(claims.get("resident_of") or "")[:6]
    age_band = "65+" if claims.get("age_over_65") is True else ""
    member = Member.objects.filter(sub=sub).first()
    if member is None:
        with transaction.atomic():
            code = f"wallet:{secrets.token_hex(8)}"
            ceiling = MAX_BALANCE[tier]
            account = ledger.open_account(code, "wallet", guard_debits=True, uses_lots=True, max_balance=ceiling)
            try:
                with transaction.atomic():
                    return Member.objects.create(
                        sub=sub, tier=tier, resident_of=resident_of, age_band=age_band, account_id=account.pk
                    )
            except IntegrityError:  # the same person's other login got there first; the spare account stays empty
                pass
        member = Member.objects.get(sub=sub)
    if (member.tier, member.resident_of, member.age_band) != (tier, resident_of, age_band):
        Member.objects.filter(pk=member.pk).update(tier=tier, resident_of=resident_of, age_band=age_band)
        Account.objects.filter(pk=member.account_id).update(max_balance=MAX_BALANCE[tier])
        member.refresh_from_db()
    return member


@dataclass(frozen=True)
class Holding:
    amount: int
    expires_at: datetime.datetime
    kind: str  # purchased, premium, benefit


def holdings(member: Member) -> list[Holding]:
    """The wallet's balance by expiry date, earliest first (what is spent first)."""
    now = timezone.now()
    lots = Lot.objects.filter(account_id=member.account_id, remaining__gt=0, expires_at__gt=now).order_by("expires_at")
    kinds = {PURCHASED: "purchased", PREMIUM: "premium", PARTNER_POINTS: "points"}
    return [Holding(lot.remaining, lot.expires_at, kinds.get(lot.tag, "benefit")) for lot in lots]


def balance(member: Member) -> int:
    return sum(holding.amount for holding in holdings(member))


def end_of_day(days: int) -> datetime.datetime:
    """Coins expire at the end of a day (Japan time), ``days`` from today: the same for a retry later today."""
    today = timezone.localdate()
    midnight = datetime.datetime.combine(today + datetime.timedelta(days=days + 1), datetime.time())
    return timezone.make_aware(midnight)


# -- charging -----------------------------------------------------------------------------------------------------


def charge(member: Member, amount: int, charge_id: str) -> tuple[int, int]:
    """Buy coins from the (simulated) bank account; residents get the campaign premium from the issuer's campaign
    account, in the same linked chain. Returns (charged, premium)."""
    _check_amount(amount)
    premium = amount * CAMPAIGN_PERCENT // 100 if member.tier == Member.RESIDENT else 0
    specs = [
        TransferSpec(
            id=charge_id, debit_account=system_account("issuer:bank").pk, credit_account=member.account_id,
            amount=amount, code=1, lot_expires_at=end_of_day(PURCHASED_DAYS), lot_tag=PURCHASED,
            linked=bool(premium), memo="charge",
        )
    ]  # fmt: skip
    if premium:
        specs.append(
            TransferSpec(
                id=f"{charge_id}.p"[:64], debit_account=system_account("issuer:campaign").pk,
                credit_account=member.account_id, amount=premium, code=2,
                lot_expires_at=end_of_day(PREMIUM_DAYS), lot_tag=PREMIUM, memo="campaign premium",
            )
        )  # fmt: skip
    for result in ledger.create_transfers(specs):
        _done(result)
    return amount, premium


# -- merchants ----------------------------------------------------------------------------------------------------


def register_merchant(owner_sub: str, name: str, category: str, *, local: bool = True) -> Merchant:
    name = (name or "").strip()
    if not 0 < len(name) <= 100 or category not in CATEGORIES:
        raise Refused("invalid_merchant")
    account = ledger.open_account(
        f"merchant:{secrets.token_hex(8)}", "merchant", guard_debits=True, credits_deferred=True
    )
    return Merchant.objects.create(
        name=name, category=category, local=local, owner_sub=owner_sub, qr_token=secrets.token_urlsafe(16),
        account_id=account.pk,
    )  # fmt: skip


CATEGORIES = ("food", "retail", "services", "tourism")


def approve_merchant(merchant: Merchant) -> None:
    Merchant.objects.filter(pk=merchant.pk).update(status=Merchant.APPROVED)


def spend_tags(merchant: Merchant) -> frozenset[str]:
    """Which coins can pay this merchant: purchased and premium coins anywhere; a benefit's coins only at local
    merchants when the programme says so."""
    if merchant.local:  # every programme's coins count at a local merchant
        return frozenset({ledger.ANY_TAG})
    tags = {PURCHASED, PREMIUM, PARTNER_POINTS}
    for programme in Programme.objects.all():
        if merchant.local or not programme.local_only:
            tags.add(programme.tag)
    return frozenset(tags)


#: Ledger transfer codes the analytics read: a merchant paying another merchant (circulation), settlement out.
MERCHANT_PAYMENT_CODE = 12
SETTLEMENT_CODES = (10, 11)


def pay_merchant(payer: Merchant, payee: Merchant, amount: int, transfer_id: str) -> None:
    """A merchant pays another (a supplier, a neighbour) from its coin balance, so the coins circulate in the city
    instead of being redeemed: one guarded transfer between the two merchant accounts. Both must be approved."""
    _check_amount(amount)
    if payer.status != Merchant.APPROVED or payee.status != Merchant.APPROVED:
        raise Refused("merchant_not_approved")
    if payer.pk == payee.pk:
        raise Refused("self_transfer")
    _done(
        ledger.create_transfer(
            TransferSpec(
                id=transfer_id, debit_account=payer.account_id, credit_account=payee.account_id, amount=amount,
                code=MERCHANT_PAYMENT_CODE, memo="merchant payment",
            )
        )
    )  # fmt: skip


# -- payments -----------------------------------------------------------------------------------------------------


def authorise(member: Member, merchant: Merchant, amount: int, payment_id: str, method: str) -> Payment:
    """Reserve ``amount`` (a pending transfer); the payment row and the reservation commit together."""
    _check_amount(amount)
    if merchant.status != Merchant.APPROVED:
        raise Refused("merchant_not_approved")
    existing = Payment.objects.filter(pk=payment_id).first()
    if existing is not None:
        if (existing.member_id, existing.merchant_id, existing.amount) != (member.pk, merchant.pk, amount):
            raise Refused("exists_with_different_fields")
        return existing
    with transaction.atomic():
        spec = TransferSpec(
            id=payment_id, debit_account=member.account_id, credit_account=merchant.account_id, amount=amount,
            kind="pending", timeout=PAYMENT_TIMEOUT, code=3, spend_tags=spend_tags(merchant), memo="payment",
        )  # fmt: skip
        result = ledger.create_transfer(spec)
        if not result.ok:
            transaction.set_rollback(True)
            raise Refused(result.status)
        payment, _ = Payment.objects.get_or_create(
            pk=payment_id, defaults={"member": member, "merchant": merchant, "amount": amount, "method": method}
        )
    return payment


def capture(payment: Payment) -> Payment:
    with transaction.atomic():
        _done(ledger.create_transfer(TransferSpec(id=f"{payment.pk}.c"[:64], kind="post", pending_id=payment.pk)))
        Payment.objects.filter(pk=payment.pk).update(state=Payment.CAPTURED)
    payment.refresh_from_db()
    return payment


def void(payment: Payment) -> Payment:
    with transaction.atomic():
        _done(ledger.create_transfer(TransferSpec(id=f"{payment.pk}.v"[:64], kind="void", pending_id=payment.pk)))
        Payment.objects.filter(pk=payment.pk).update(state=Payment.VOIDED)
    payment.refresh_from_db()
    return payment


def pay(member: Member, merchant: Merchant, amount: int, payment_id: str, method: str = "static") -> Payment:
    """Authorise and capture at once (the resident confirmed on their phone): the pending transfer and its post as
    one linked chain, and the payment row, in one database transaction. The ledger answers a retry first (the
    payment's id is the pending transfer's id), so a new payment reads nothing before it writes."""
    _check_amount(amount)
    if merchant.status != Merchant.APPROVED:
        raise Refused("merchant_not_approved")
    specs = [
        TransferSpec(
            id=payment_id, debit_account=member.account_id, credit_account=merchant.account_id, amount=amount,
            kind="pending", timeout=PAYMENT_TIMEOUT, code=3, spend_tags=spend_tags(merchant), memo="payment",
            linked=True,
        ),
        TransferSpec(id=f"{payment_id}.c"[:64], kind="post", pending_id=payment_id),
    ]  # fmt: skip
    with transaction.atomic():
        results = ledger.create_transfers(specs, savepoint=False)
        if all(result.ok for result in results) and results[0].status == ledger.CREATED:
            return Payment.objects.create(
                pk=payment_id, member=member, merchant=merchant, amount=amount, method=method, state=Payment.CAPTURED
            )
    failed = next((result for result in results if not result.ok and result.status != "linked_event_failed"), None)
    existing = Payment.objects.filter(pk=payment_id).first()  # a retry (or another request reusing the id)
    if existing is None:
        raise Refused(failed.status if failed else "exists_with_different_fields")
    if (existing.member_id, existing.merchant_id, existing.amount) != (member.pk, merchant.pk, amount):
        raise Refused("exists_with_different_fields")
    if existing.state == Payment.AUTHORISED:
        return capture(existing)
    return existing


def refund(payment: Payment, amount: int, refund_id: str) -> Payment:
    """Give (part of) a captured payment back; the coins come back with the expiry and kind they were paid with."""
    _check_amount(amount)
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.state != Payment.CAPTURED:
            raise Refused("not_captured")
        if Transfer.objects.filter(pk=refund_id).exists():  # a retry of this refund: nothing moves again
            return locked
        if amount > locked.amount - locked.refunded:
            raise Refused("exceeds_payment")
        lots = _refund_lots(payment.pk, amount)
        _done(
            ledger.create_transfer(
                TransferSpec(
                    id=refund_id, debit_account=payment.merchant.account_id, credit_account=payment.member.account_id,
                    amount=amount, code=4, lots=tuple(lots), memo="refund",
                )
            )
        )  # fmt: skip
        Payment.objects.filter(pk=payment.pk).update(refunded=locked.refunded + amount)
    payment.refresh_from_db()
    return payment


def _refund_lots(payment_id: str, amount: int) -> list[LotSpec]:
    lots: list[LotSpec] = []
    left = amount
    uses = LotUse.objects.filter(transfer_id=payment_id).select_related("lot").order_by("-lot__expires_at")
    for use in uses:
        take = min(left, use.amount - use.released)
        if take > 0:
            expires_at = max(use.lot.expires_at, timezone.now() + datetime.timedelta(days=30))
            lots.append(LotSpec(take, expires_at, use.lot.tag))
            left -= take
    if left:
        lots.append(LotSpec(left, timezone.now() + datetime.timedelta(days=PURCHASED_DAYS), PURCHASED))
    return lots


#: The most one transfer between people may move, per tier of the sender (visitors may not send at all).
P2P_LIMIT = {Member.RESIDENT: 50_000, Member.VISITOR: 0}


def send(member: Member, to: Member, amount: int, transfer_id: str) -> None:
    """A transfer between two residents (visitors may neither send nor receive); only purchased coins move (premium
    and benefit coins are for spending at shops), and they keep their expiry; at most ``P2P_LIMIT`` at a time, and
    the recipient's wallet ceiling holds."""
    _check_amount(amount)
    if member.tier != Member.RESIDENT or to.tier != Member.RESIDENT:
        raise Refused("tier_forbids")
    if member.pk == to.pk:
        raise Refused("self_transfer")
    if amount > P2P_LIMIT[member.tier]:
        raise Refused("exceeds_p2p_limit")
    _done(
        ledger.create_transfer(
            TransferSpec(
                id=transfer_id, debit_account=member.account_id, credit_account=to.account_id, amount=amount,
                code=5, carry_lots=True, spend_tags=frozenset({PURCHASED}), memo="transfer",
            )
        )
    )  # fmt: skip


# -- benefits -----------------------------------------------------------------------------------------------------


def create_programme(
    name: str,
    *,
    amount: int,
    budget: int,
    resident_of: str = HOME_MUNICIPALITY,
    needs_age_over_65: bool = False,
    opens_at: datetime.datetime | None = None,
    closes_at: datetime.datetime | None = None,
    coin_days: int = 183,
    local_only: bool = True,
) -> Programme:
    """A programme and its account, funded with the whole budget from the city's treasury."""
    _check_amount(amount)
    if not isinstance(budget, int) or budget < amount or budget > 10**11:
        raise Refused("invalid_budget")
    now = timezone.now()
    with transaction.atomic():
        account = ledger.open_account(f"benefit:{secrets.token_hex(8)}", "benefit", guard_debits=True)
        programme = Programme.objects.create(
            name=name, amount=amount, budget=budget, resident_of=resident_of, needs_age_over_65=needs_age_over_65,
            opens_at=opens_at or now, closes_at=closes_at or now + datetime.timedelta(days=90), coin_days=coin_days,
            local_only=local_only, account_id=account.pk,
        )  # fmt: skip
        spec = TransferSpec(
            id=f"budget:{programme.pk}", debit_account=system_account("city:treasury").pk,
            credit_account=account.pk, amount=budget, code=6, memo="benefit budget",
        )  # fmt: skip
        _done(ledger.create_transfer(spec))
    return programme


def eligible(programme: Programme, claims: dict[str, Any]) -> bool:
    if claims.get("resident_of") != programme.resident_of:
        return False
    return not programme.needs_age_over_65 or claims.get("age_over_65") is True


def claim(member: Member, programme: Programme, claims: dict[str, Any]) -> tuple[Claim, bool]:
    """Pay the benefit once to this person (the unique constraint on programme and pairwise ``sub`` decides);
    (the claim, True) when this call paid it, (the existing claim, False) when it was paid before."""
    existing = Claim.objects.filter(programme=programme, sub=member.sub).first()
    if existing is not None:
        return existing, False
    if not eligible(programme, claims):
        raise Refused("not_eligible")
    now = timezone.now()
    if not programme.opens_at <= now < programme.closes_at:
        raise Refused("claim_window_closed")
    transfer_id = f"claim:{programme.pk}:{secrets.token_hex(8)}"
    try:
        with transaction.atomic():
            made = Claim.objects.create(programme=programme, sub=member.sub, transfer_id=transfer_id)
            spec = TransferSpec(
                id=transfer_id, debit_account=programme.account_id, credit_account=member.account_id,
                amount=programme.amount, code=7, memo="benefit",
                lots=(LotSpec(programme.amount, now + datetime.timedelta(days=programme.coin_days), programme.tag),),
            )  # fmt: skip
            result = ledger.create_transfer(spec, now=now)
            if not result.ok:
                raise Refused("budget_exhausted" if result.status == "exceeds_credits" else result.status)
    except IntegrityError:
        return Claim.objects.get(programme=programme, sub=member.sub), False
    return made, True


def close_programme(programme: Programme, *, now: datetime.datetime | None = None) -> int:
    """After the claim window: what is left of the budget returns to the city (once). Returns the yen returned."""
    now = now or timezone.now()
    if now < programme.closes_at:
        raise Refused("claim_window_open")
    account = Account.objects.get(pk=programme.account_id)
    if account.balance == 0:
        return 0
    spec = TransferSpec(
        id=f"return:{programme.pk}", debit_account=account.pk, credit_account=system_account("city:treasury").pk,
        amount=account.balance, code=8, memo="unclaimed budget",
    )  # fmt: skip
    result = _done(ledger.create_transfer(spec, now=now))
    Programme.objects.filter(pk=programme.pk).update(returned_transfer=spec.id)
    return int(result.transfer["amount"]) if result.status == "created" and result.transfer else 0


# -- settlement and reports ---------------------------------------------------------------------------------------


def settle(merchant: Merchant, day: datetime.date) -> Settlement | None:
    """Redeem the merchant's whole balance to its bank account, less the 1.5 % fee; once per merchant and day."""
    done = Settlement.objects.filter(merchant=merchant, day=day).first()
    if done is not None:
        return done
    gross = ledger.account(merchant.account_id).balance
    if gross <= 0:
        return None
    fee = gross * FEE_PER_MILLE // 1000
    with transaction.atomic():
        settlement = Settlement.objects.create(merchant=merchant, day=day, gross=gross, fee=fee, net=gross - fee)
        specs = [
            TransferSpec(
                id=f"settle:{settlement.pk}:net", debit_account=merchant.account_id,
                credit_account=system_account("issuer:bank").pk, amount=gross - fee, code=10, linked=fee > 0,
            ),
        ]  # fmt: skip
        if fee:
            specs.append(
                TransferSpec(
                    id=f"settle:{settlement.pk}:fee", debit_account=merchant.account_id,
                    credit_account=system_account("fees").pk, amount=fee, code=11,
                )
            )  # fmt: skip
        for result in ledger.create_transfers(specs):
            if not result.ok:
                transaction.set_rollback(True)
                raise Refused(result.status)
    return settlement


def statement_rows(merchant: Merchant) -> list[list[str]]:
    rows = [["date", "kind", "amount", "refunded", "state"]]
    for payment in merchant.payments.order_by("created_at"):
        day = payment.created_at.date().isoformat()
        rows.append([day, "payment", str(payment.amount), str(payment.refunded), payment.state])
    for settlement in merchant.settlements.order_by("day"):
        rows.append([settlement.day.isoformat(), "settlement", str(-settlement.net), "", f"fee {settlement.fee}"])
    account = merchant.account_id
    shops = Transfer.objects.filter(code=MERCHANT_PAYMENT_CODE).filter(
        models.Q(debit_account_id=account) | models.Q(credit_account_id=account)
    )
    for transfer in shops.order_by("created_at"):
        amount = transfer.amount if transfer.credit_account_id == account else -transfer.amount
        rows.append([transfer.created_at.date().isoformat(), "shop payment", str(amount), "", ""])
    return rows


@dataclass(frozen=True)
class PrepaidReport:
    base_date: datetime.date
    purchased_unused: int
    free_unused: int
    deposit_required: int


def base_date(today: datetime.date) -> datetime.date:
    """The latest base date (end of March or end of September) on or before ``today``."""
    for year in (today.year, today.year - 1):
        for month, day in ((9, 30), (3, 31)):
            candidate = datetime.date(year, month, day)
            if candidate <= today:
                return candidate
    raise AssertionError("unreachable")


def prepaid_report(today: datetime.date | None = None) -> PrepaidReport:
    """Unused purchased value (the prepaid-instrument rules: a deposit of half of what exceeds ¥10M) and the free
    coins (premiums, benefits; ≤ 6 months) apart. Computed from the lots as they stand when it runs: run on the base
    date (the issuer's job does), it is the base-date figure."""
    today = today or timezone.localdate()
    wallets = Account.objects.filter(kind="wallet").values_list("pk", flat=True)
    purchased = free = 0
    lots = Lot.objects.filter(account_id__in=list(wallets), remaining__gt=0)
    for tag, remaining in lots.values_list("tag", "remaining"):
        if tag == PURCHASED:
            purchased += remaining
        else:
            free += remaining
    deposit = -(-max(0, purchased - DEPOSIT_THRESHOLD) // 2)
    return PrepaidReport(base_date(today), purchased, free, deposit)
