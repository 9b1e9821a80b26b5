"""Payment at the counter ("no one left behind"): a resident without a smartphone pays a booking in cash or by card
at the city counter, and a clerk records it.

``CounterProvider`` is a second ``booking.payments.PaymentProvider`` (name ``counter``), registered when the staff
app starts. It keeps its ledger in ``CounterCharge`` (what was received, how, by whom, when) and ``CounterPayout``
(refunds to hand over at the counter). It has no pages and sends no callbacks: the clerk's form is the
authorisation, so ``verify_callback`` refuses everything (the webhook ``/booking/payments/counter/callback/``
answers 400) and ``create_payment`` opens a charge only for the staff counter pages.

``take_payment`` is the one way money comes in: staff with the ``staff.counter`` and ``staff.counter_payment``
permissions, the resident's own tentative booking, the exact fee. The booking service then captures, confirms and
issues the receipt (numbered like every other, ``R<year>-<serial>``), all in one transaction with the
``ProxyAction`` the resident later sees on their home page. A form sent twice (same idempotency key) gives the
same receipt and records nothing more.

Refunds of counter payments follow the booking service's tiers like any other (``service.cancel`` calls
``CounterProvider.refund``), which records a ``CounterPayout`` to be paid out; ``pay_out`` records the hand-over.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from anchorid.city.booking import payments, rules
from anchorid.city.booking import service as booking_service
from anchorid.city.booking.errors import InvalidCallback, PaymentFailed
from anchorid.city.booking.models import Booking, CityUser, Payment, Receipt, Refund
from anchorid.city.booking.payments import CreatedPayment, PaymentEvent
from anchorid.city.staff.models import CounterCharge, CounterPayout, ProxyAction
from anchorid.common.display import yen

NAME = "counter"
#: Counter charges are opened only for the staff counter pages (a return URL under this path).
COUNTER_PATH = "/staff/counter/"
#: The payment form's idempotency key: URL-safe, 16 to 64 characters (``new_idempotency_key`` gives 22).
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")

#: A city staff account (Django's user model of the city database), typed loosely as in ``counter.py``.
StaffUser = Any


class CounterPaymentError(ValueError):
    """A refused counter payment or payout; nothing was stored. ``status`` is the page's HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(16)


def may_take_payments(staff: StaffUser) -> bool:
    return bool(
        getattr(staff, "is_active", False)
        and getattr(staff, "is_staff", False)
        and staff.has_perm("staff.counter")
        and staff.has_perm("staff.counter_payment")
    )


def _require_permission(staff: StaffUser) -> None:
    if not may_take_payments(staff):
        raise CounterPaymentError(_("Only counter staff allowed to handle money can record payments."), status=403)


# -- the provider -------------------------------------------------------------------------------------------------


class CounterProvider:
    """Cash or card at the counter. Two phases like the others: ``receive`` (the clerk records the money) is the
    authorisation, ``capture`` books it; ``refund`` records a payout to hand over at the counter."""

    name = NAME

    def create_payment(self, *, order_ref: str, amount_yen: int, description: str, return_url: str) -> CreatedPayment:
        if not return_url.startswith(COUNTER_PATH):
            raise PaymentFailed(_("Payments at the counter are taken by city staff on the staff pages."))
        provider_ref = f"ctr_{order_ref}_{secrets.token_hex(8)}"
        CounterCharge.objects.create(
            provider_ref=provider_ref, order_ref=order_ref, amount_yen=amount_yen, description=description[:200]
        )
        return CreatedPayment(provider_ref, return_url)

    def receive(
        self, provider_ref: str, *, amount_yen: int, method: str, staff: StaffUser, idempotency_key: str
    ) -> PaymentEvent:
        """The clerk has the money: the counter's authorisation of the charge."""
        with transaction.atomic():
            charge = CounterCharge.objects.select_for_update().filter(provider_ref=provider_ref).first()
            if charge is None or charge.status != CounterCharge.Status.CREATED or charge.amount_yen != amount_yen:
                raise PaymentFailed()
            charge.status = CounterCharge.Status.RECEIVED
            charge.method, charge.received_by, charge.received_at = method, staff, timezone.now()
            charge.idempotency_key = idempotency_key
            charge.save(update_fields=["status", "method", "received_by", "received_at", "idempotency_key"])
        return PaymentEvent(provider_ref, "authorized", amount_yen)

    def verify_callback(self, payload: bytes, signature: str) -> PaymentEvent:
        raise InvalidCallback()  # the counter sends no callbacks: staff record payments on the staff pages

    def capture(self, provider_ref: str, amount_yen: int) -> None:
        with transaction.atomic():
            charge = CounterCharge.objects.select_for_update().filter(provider_ref=provider_ref).first()
            if charge is None or charge.amount_yen != amount_yen:
                raise PaymentFailed()
            if charge.status == CounterCharge.Status.CAPTURED:
                return
            if charge.status != CounterCharge.Status.RECEIVED:
                raise PaymentFailed()
            charge.status = CounterCharge.Status.CAPTURED
            charge.save(update_fields=["status"])

    def cancel(self, provider_ref: str) -> None:
        CounterCharge.objects.filter(
            provider_ref=provider_ref, status__in=[CounterCharge.Status.CREATED, CounterCharge.Status.RECEIVED]
        ).update(status=CounterCharge.Status.CANCELLED)

    def refund(self, provider_ref: str, amount_yen: int) -> str:
        with transaction.atomic():
            charge = CounterCharge.objects.select_for_update().filter(provider_ref=provider_ref).first()
            if charge is None or charge.status != CounterCharge.Status.CAPTURED:
                raise PaymentFailed()
            if amount_yen <= 0 or charge.refunded_yen + amount_yen > charge.amount_yen:
                raise PaymentFailed()
            charge.refunded_yen += amount_yen
            charge.save(update_fields=["refunded_yen"])
            payout = CounterPayout.objects.create(
                charge=charge, amount_yen=amount_yen, payout_ref=f"{provider_ref}_payout_{secrets.token_hex(4)}"
            )
        return payout.payout_ref


def register() -> None:
    """Add the counter provider to the booking service's providers (called by ``StaffConfig.ready``)."""
    payments.PROVIDERS.setdefault(NAME, CounterProvider())


def counter_provider() -> CounterProvider:
    chosen = payments.PROVIDERS.get(NAME)
    return chosen if isinstance(chosen, CounterProvider) else CounterProvider()


# -- taking a payment ---------------------------------------------------------------------------------------------


def take_payment(
    staff: StaffUser,
    user: CityUser,
    booking: Booking,
    *,
    amount_yen: int,
    method: str,
    idempotency_key: str,
    return_url: str,
    at: dt.datetime | None = None,
) -> Receipt:
    """Record the fee of ``user``'s tentative ``booking`` as received at the counter: the booking is confirmed, a
    receipt issued and a ``ProxyAction`` recorded, or nothing at all is stored and ``CounterPaymentError`` says why.
    The same ``idempotency_key`` again (the form sent twice) returns the first receipt."""
    _require_permission(staff)
    at = at or timezone.now()
    if booking.user_id != user.pk:
        raise CounterPaymentError(_("This booking is not the resident's."), status=404)
    if method not in CounterCharge.Method.values:
        raise CounterPaymentError(_("Choose how the resident paid: cash or card."))
    if not KEY_PATTERN.fullmatch(idempotency_key or ""):
        raise CounterPaymentError(_("The payment form has expired. Open the resident's page again."))
    try:
        with transaction.atomic():
            return _take_payment(staff, user, booking, amount_yen, method, idempotency_key, return_url, at)
    except IntegrityError:  # the same key in another booking's form at the same moment
        raise CounterPaymentError(_("This payment form was already used. Open the resident's page again."),
                                  status=409) from None  # fmt: skip


def _take_payment(
    staff: StaffUser,
    user: CityUser,
    booking: Booking,
    amount_yen: int,
    method: str,
    key: str,
    return_url: str,
    at: dt.datetime,
) -> Receipt:
    booking = Booking.objects.select_for_update().select_related("slot__facility").get(pk=booking.pk)
    earlier = CounterCharge.objects.filter(idempotency_key=key).first()
    if earlier is not None:
        receipt = Receipt.objects.filter(payment__provider=NAME, payment__provider_ref=earlier.provider_ref).first()
        same = earlier.order_ref == booking.reference and earlier.amount_yen == amount_yen and earlier.method == method
        if same and receipt is not None:
            return receipt  # the form sent twice: one payment, one receipt
        raise CounterPaymentError(_("This payment form was already used. Open the resident's page again."),
                                  status=409)  # fmt: skip
    Status = Booking.Status
    if booking.status in (Status.CONFIRMED, Status.USED, Status.NO_SHOW):
        if booking.fee_yen == 0:
            raise CounterPaymentError(_("This booking is free: there is nothing to pay."), status=409)
        raise CounterPaymentError(_("This booking is already paid."), status=409)
    overdue = booking.payment_deadline is not None and booking.payment_deadline < at
    if booking.status == Status.EXPIRED or (booking.status in booking_service.WAITING and overdue):
        raise CounterPaymentError(_("The payment deadline of this booking has passed; it can no longer be paid. "
                                    "Book the slot again if it is still free."), status=409)  # fmt: skip
    if booking.status == Status.AWAITING_CONFIRMATION:
        raise CounterPaymentError(_("Take the lottery win for the resident first, then record the payment."),
                                  status=409)  # fmt: skip
    if booking.status != Status.TENTATIVE or booking.slot.starts_at <= at:
        raise CounterPaymentError(_("This booking cannot be paid in its current state."), status=409)
    if amount_yen != booking.fee_yen:
        raise CounterPaymentError(_("The amount must be exactly the fee: %(fee)s.") % {"fee": yen(booking.fee_yen)})
    # A payment the resident had started online is released: the counter payment takes its place.
    for pending in booking.payments.filter(status=Payment.Status.PENDING):
        payments.provider(pending.provider).cancel(pending.provider_ref)
        pending.status = Payment.Status.DECLINED
        pending.save(update_fields=["status"])
    provider = counter_provider()
    facility = booking.slot.facility
    description = f"{facility.name_ja} {booking.slot.starts_at.astimezone(rules.JST):%Y-%m-%d %H:%M}"
    created = provider.create_payment(
        order_ref=booking.reference, amount_yen=booking.fee_yen, description=description, return_url=return_url
    )
    Payment.objects.create(booking=booking, provider=NAME, provider_ref=created.provider_ref, amount_yen=amount_yen)
    event = provider.receive(created.provider_ref, amount_yen=amount_yen, method=method, staff=staff,
                             idempotency_key=key)  # fmt: skip
    confirmed = booking_service.apply_payment_event(NAME, event, at=at)
    if confirmed.status != Status.CONFIRMED:  # cannot happen with the booking locked above; never store half of it
        raise CounterPaymentError(_("This booking cannot be paid in its current state."), status=409)
    receipt = Receipt.objects.get(payment__provider=NAME, payment__provider_ref=created.provider_ref)
    ProxyAction.objects.create(
        user=user, staff=staff, kind=ProxyAction.Kind.PAID, booking=booking,
        detail=f"{receipt.number} · ¥{amount_yen:,} · {CounterCharge.Method(method).label} · {booking.reference}",
    )  # fmt: skip
    return receipt


# -- refunds to hand over -----------------------------------------------------------------------------------------


def payouts_of(user: CityUser, *, pending_only: bool = False) -> list[CounterPayout]:
    """The resident's refunds of counter payments (those still to be paid out first)."""
    references = Booking.objects.filter(user=user).values("reference")
    found = CounterPayout.objects.filter(charge__order_ref__in=references).select_related("charge", "paid_out_by")
    if pending_only:
        found = found.filter(paid_out_at__isnull=True)
    return list(found.order_by(F("paid_out_at").asc(nulls_first=True), "-created_at"))


def pay_out(staff: StaffUser, user: CityUser, payout_ref: str, *, at: dt.datetime | None = None) -> CounterPayout:
    """Record that the refund ``payout_ref`` was handed over to ``user`` at the counter."""
    _require_permission(staff)
    at = at or timezone.now()
    with transaction.atomic():
        payout = (
            CounterPayout.objects.select_for_update().select_related("charge").filter(payout_ref=payout_ref).first()
        )
        if payout is None or not Booking.objects.filter(reference=payout.charge.order_ref, user=user).exists():
            raise CounterPaymentError(_("There is no such refund for this resident."), status=404)
        if payout.paid_out_at is not None:
            raise CounterPaymentError(_("This refund was already paid out."), status=409)
        payout.paid_out_at, payout.paid_out_by = at, staff
        payout.save(update_fields=["paid_out_at", "paid_out_by"])
        booking = Booking.objects.get(reference=payout.charge.order_ref)
        ProxyAction.objects.create(user=user, staff=staff, kind=ProxyAction.Kind.REFUND_PAID_OUT, booking=booking,
                                   detail=f"¥{payout.amount_yen:,} · {booking.reference}")  # fmt: skip
    return payout


# -- payment methods for staff pages and reports --------------------------------------------------------------------

#: How a booking was paid, as exported in CSV: the provider's name, with the method for counter payments.
METHOD_CODES = ("simulated", "counter_cash", "counter_card")


def methods_by_booking(booking_ids: list[int]) -> dict[int, str]:
    """``{booking id: payment method code}`` for bookings with a captured payment (refunded later or not)."""
    paid = list(
        Payment.objects.filter(booking_id__in=booking_ids, captured_at__isnull=False).values_list(
            "booking_id", "provider", "provider_ref"
        )
    )
    counter_refs = [ref for _booking, provider, ref in paid if provider == NAME]
    methods = dict(CounterCharge.objects.filter(provider_ref__in=counter_refs).values_list("provider_ref", "method"))
    return {
        booking_id: f"{NAME}_{methods.get(ref, '')}" if provider == NAME else provider
        for booking_id, provider, ref in paid
    }


def method_label(code: str) -> str:
    labels = {
        NAME + "_" + CounterCharge.Method.CASH: _("Counter, cash"),
        NAME + "_" + CounterCharge.Method.CARD: _("Counter, card"),
        "simulated": _("Online (simulated provider)"),
    }
    return labels.get(code, code)


def method_totals(since: dt.datetime, until: dt.datetime) -> list[dict[str, Any]]:
    """Per payment method, for bookings whose slot starts in [since, until): payments received, amount, refunds
    and (counter only) refunds still to be paid out."""
    in_period = Q(booking__slot__starts_at__gte=since, booking__slot__starts_at__lt=until)
    captured = Payment.objects.filter(in_period, captured_at__isnull=False)
    codes = methods_by_booking(list(captured.values_list("booking_id", flat=True)))
    rows: dict[str, dict[str, Any]] = {}
    for booking_id, amount in captured.values_list("booking_id", "amount_yen"):
        code = codes.get(booking_id, "")
        row = rows.setdefault(code, {"code": code, "label": method_label(code), "payments": 0, "received_yen": 0,
                                     "refunds_yen": 0, "to_pay_out_yen": 0})  # fmt: skip
        row["payments"] += 1
        row["received_yen"] += amount
    refunds = Refund.objects.filter(in_period).values_list("booking_id").annotate(total=Sum("amount_yen"))
    for booking_id, total in refunds:
        code = codes.get(booking_id, "")
        if code in rows:
            rows[code]["refunds_yen"] += total or 0
    pending = (
        CounterPayout.objects.filter(paid_out_at__isnull=True)
        .filter(charge__order_ref__in=Booking.objects.filter(slot__starts_at__gte=since, slot__starts_at__lt=until)
                .values("reference"))
        .values_list("charge__method")
        .annotate(total=Sum("amount_yen"), count=Count("pk"))
    )  # fmt: skip
    for method, total, _count in pending:
        code = f"{NAME}_{method}"
        if code in rows:
            rows[code]["to_pay_out_yen"] += total or 0
    return sorted(rows.values(), key=lambda row: row["code"])
