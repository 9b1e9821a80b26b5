"""Booking operations: what the resident pages, the staff pages and the lottery call.

Every operation checks its input before it writes, writes in one transaction, and leaves the decisive check to
the database where two requests could race: two bookings of one slot (``SlotTaken`` from the partial unique
index), two overlapping slots (``SlotOverlaps`` from the exclusion constraint / SQLite triggers).

Tentative bookings that pass their payment deadline expire "on access": ``book`` expires the slot's overdue
booking before it inserts, the booking pages expire the booking they show, and ``expire_overdue`` (the
``expire_bookings`` management command) sweeps them all.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from anchorid.city.booking import rules
from anchorid.city.booking.errors import (
    GroupNotFound,
    HeldForLottery,
    InvalidCallback,
    InvalidGroup,
    InvalidSlot,
    InvalidState,
    NotGroupMember,
    OutsideWindow,
    PaymentDeadlinePassed,
    SlotNotFound,
    SlotOverlaps,
    SlotTaken,
)
from anchorid.city.booking.models import (
    Booking,
    CityUser,
    Facility,
    Group,
    Payment,
    PenaltyRecord,
    Receipt,
    Refund,
    Slot,
)
from anchorid.city.booking.payments import CreatedPayment, PaymentEvent, provider

Status = Booking.Status
#: Statuses that wait for something before a deadline (payment, or a lottery winner's confirmation).
WAITING = (Status.TENTATIVE, Status.AWAITING_CONFIRMATION)


def _now(at: datetime.datetime | None) -> datetime.datetime:
    return at or timezone.now()


# -- users --------------------------------------------------------------------------------------------------------


def user_from_claims(claims: dict[str, Any], at: datetime.datetime | None = None) -> CityUser:
    """The city user for a login: found by the pairwise ``sub``, created on the first login (online registration,
    no counter visit); residence and age come from the verified claims of this login, never from a form."""
    sub = str(claims["sub"])
    values = {
        "display_name": str(claims.get("name") or "")[:200],
        "is_resident": rules.is_resident(claims),
        "is_over_65": claims.get("age_over_65") is True,
        "last_login_at": _now(at),
    }
    updated = CityUser.objects.filter(sub=sub).update(**values)
    if not updated:
        try:
            with transaction.atomic():
                return CityUser.objects.create(sub=sub, **values)
        except IntegrityError:  # a concurrent first login of the same resident created it
            CityUser.objects.filter(sub=sub).update(**values)
    return CityUser.objects.get(sub=sub)


def add_penalty(user: CityUser, points: int, reason: str, booking: Booking | None = None) -> None:
    CityUser.objects.filter(pk=user.pk).update(penalty_points=F("penalty_points") + points)
    PenaltyRecord.objects.create(user=user, booking=booking, points=points, reason=reason)
    user.refresh_from_db(fields=["penalty_points"])


# -- groups -------------------------------------------------------------------------------------------------------


def create_group(representative: CityUser, name: str) -> Group:
    """A new group represented by ``representative`` (its reduction is approved by staff, not here)."""
    name = " ".join(str(name).split())
    if not name or len(name) > 200:
        raise InvalidGroup()
    return Group.objects.create(name=name, representative=representative)


def join_group(user: CityUser, invite_code: str) -> Group:
    """Join the group whose representative handed out ``invite_code``."""
    group = Group.objects.filter(invite_code=str(invite_code).strip()[:24]).first()
    if group is None or not invite_code:
        raise GroupNotFound()
    if group.representative_id != user.pk:
        group.members.add(user)
    return group


def groups_of(user: CityUser) -> QuerySet[Group]:
    return Group.objects.filter(Q(representative=user) | Q(members=user)).distinct().order_by("name")


# -- facilities and slots -----------------------------------------------------------------------------------------


def get_slot(slot_id: object) -> Slot:
    """The slot named by an id from a form or URL; ``SlotNotFound`` for anything else (forged, deleted, junk)."""
    try:
        key = int(str(slot_id))
    except ValueError:
        raise SlotNotFound() from None
    try:
        return Slot.objects.select_related("facility").get(pk=key, facility__is_active=True)
    except Slot.DoesNotExist:
        raise SlotNotFound() from None


def create_slot(facility: Facility, starts_at: datetime.datetime, ends_at: datetime.datetime, fee_yen: int) -> Slot:
    """A new slot; ``InvalidSlot`` for reversed or empty times, naive times or a negative fee, ``SlotOverlaps``
    when the database finds another slot of the facility in the period."""
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise InvalidSlot("Times must carry a time zone.")
    if ends_at <= starts_at:
        raise InvalidSlot("A slot must end after it starts.")
    if not isinstance(fee_yen, int) or isinstance(fee_yen, bool) or fee_yen < 0:
        raise InvalidSlot("A fee is a whole number of yen, zero or more.")
    try:
        with transaction.atomic():
            # Slots of one facility are created one at a time: on PostgreSQL, concurrent inserts that trip the
            # exclusion constraint each wait for the other's transaction and can deadlock; holding the facility's
            # row first makes the later writer see the earlier slot and get a plain SlotOverlaps.
            Facility.objects.select_for_update(no_key=True).filter(pk=facility.pk).values_list("pk", flat=True).first()
            return Slot.objects.create(facility=facility, starts_at=starts_at, ends_at=ends_at, fee_yen=fee_yen)
    except IntegrityError:
        raise SlotOverlaps() from None


def release_slot(slot: Slot) -> None:
    """Open a slot the lottery held to first-come booking (the second round)."""
    Slot.objects.filter(pk=slot.pk).update(held_for_lottery=False)
    slot.held_for_lottery = False


def window_for(user: CityUser, facility: Facility) -> int:
    return rules.window_days(
        resident=user.is_resident,
        resident_days=facility.resident_window_days,
        non_resident_days=facility.non_resident_window_days,
    )


def fee_for(user: CityUser, slot: Slot, group: Group | None = None) -> rules.Fee:
    reduction = group.reduction_percent if group is not None and group.reduction_approved else None
    return rules.fee(
        slot.fee_yen,
        resident=user.is_resident,
        group_reduction=reduction,
        senior=user.is_over_65,
        court=slot.facility.kind == Facility.Kind.COURT,
    )


# -- booking ------------------------------------------------------------------------------------------------------


def book(
    user: CityUser,
    slot: Slot,
    *,
    group: Group | None = None,
    staff: Any = None,  # a staff account of the city (settings.AUTH_USER_MODEL), or None
    status: str = Status.TENTATIVE,
    payment_deadline: datetime.datetime | None = None,
    at: datetime.datetime | None = None,
) -> Booking:
    """Book ``slot`` for ``user``. First-come bookings (status tentative) must fall in the user's booking window
    and not on a slot held for the lottery; a lottery win (status awaiting_confirmation, given by the lottery with
    its confirmation deadline) skips both. ``staff``: booked at the counter on the user's behalf.

    Raises ``SlotTaken`` (the database found an active booking of the slot), ``OutsideWindow``,
    ``HeldForLottery``, ``NotGroupMember``, ``SlotNotFound``, ``InvalidState`` (an unknown status)."""
    at = _now(at)
    if status not in (Status.TENTATIVE, Status.AWAITING_CONFIRMATION):
        raise InvalidState()
    facility = slot.facility
    if not facility.is_active:
        raise SlotNotFound()
    lottery_win = status == Status.AWAITING_CONFIRMATION
    if slot.held_for_lottery and not lottery_win:
        raise HeldForLottery()
    if slot.starts_at <= at or (
        not lottery_win and not rules.in_window(slot.starts_at, at, window_for(user, facility))
    ):
        raise OutsideWindow()
    if group is not None and group.representative_id != user.pk and not group.members.filter(pk=user.pk).exists():
        raise NotGroupMember()
    fee = fee_for(user, slot, group)
    if status == Status.TENTATIVE and fee.total_yen == 0:
        status = Status.CONFIRMED  # nothing to pay
    deadline = None
    if status in WAITING:
        deadline = payment_deadline or rules.payment_deadline(at, slot.starts_at)
    values = {
        "slot": slot,
        "user": user,
        "group": group,
        "status": status,
        "fee_yen": fee.total_yen,
        "reduction_percent": fee.reduction_percent,
        "payment_deadline": deadline,
        "booked_by_staff": staff,
        "on_behalf": staff is not None,
    }
    try:
        with transaction.atomic():
            return Booking.objects.create(**values)
    except IntegrityError:
        pass
    # The slot is held. By a booking past its deadline? Then that one expires now (the check on access) and this
    # booking gets one more try; otherwise, or if another request was quicker, the slot is taken.
    if not expire_overdue(at, bookings=Booking.objects.filter(slot=slot)):
        raise SlotTaken()
    try:
        with transaction.atomic():
            return Booking.objects.create(**values)
    except IntegrityError:
        raise SlotTaken() from None


def confirm_lottery_win(booking: Booking, at: datetime.datetime | None = None) -> Booking:
    """The winner accepts a lottery win before its deadline: it becomes tentative with a payment deadline (or
    confirmed when there is nothing to pay). After the deadline the win has expired: ``PaymentDeadlinePassed``."""
    at = _now(at)
    with transaction.atomic():
        booking = _locked(booking)
        if _expire_one(booking, at):
            raise_after = True
        else:
            raise_after = False
            if booking.status != Status.AWAITING_CONFIRMATION:
                raise InvalidState()
            if booking.fee_yen == 0:
                booking.status = Status.CONFIRMED
                booking.payment_deadline = None
            else:
                booking.status = Status.TENTATIVE
                booking.payment_deadline = rules.payment_deadline(at, booking.slot.starts_at)
            booking.save(update_fields=["status", "payment_deadline", "updated_at"])
    if raise_after:
        raise PaymentDeadlinePassed()
    return booking


def expire_overdue(at: datetime.datetime | None = None, *, bookings: QuerySet[Booking] | None = None) -> int:
    """Expire every tentative booking past its payment deadline and every lottery win past its confirmation
    deadline (of ``bookings``, default all); returns how many. Run by the ``expire_bookings`` management command
    and on access (the home page, for the resident's own bookings)."""
    at = _now(at)
    chosen = Booking.objects.all() if bookings is None else bookings
    if not chosen.filter(status__in=WAITING, payment_deadline__lt=at).exists():
        return 0  # the usual case, answered without a write transaction
    with transaction.atomic():
        return _expire(chosen, at)


def _expire(bookings: QuerySet[Booking], at: datetime.datetime) -> int:
    overdue = bookings.filter(status__in=WAITING, payment_deadline__lt=at)
    ids = list(overdue.values_list("pk", flat=True))
    if not ids:
        return 0
    for payment in Payment.objects.filter(booking_id__in=ids, status=Payment.Status.PENDING):
        provider(payment.provider).cancel(payment.provider_ref)
    Payment.objects.filter(booking_id__in=ids, status=Payment.Status.PENDING).update(status=Payment.Status.DECLINED)
    return Booking.objects.filter(pk__in=ids, status__in=WAITING).update(status=Status.EXPIRED, updated_at=at)


def _expire_one(booking: Booking, at: datetime.datetime) -> bool:
    """Expire this booking if it is overdue (the caller holds it locked); True when it expired now."""
    if booking.status in WAITING and booking.payment_deadline is not None and booking.payment_deadline < at:
        _expire(Booking.objects.filter(pk=booking.pk), at)
        booking.refresh_from_db()
        return True
    return False


def refresh(booking: Booking, at: datetime.datetime | None = None) -> Booking:
    """The booking as it stands now, expired first if its deadline has passed (the check on access)."""
    at = _now(at)
    if not (booking.status in WAITING and booking.payment_deadline is not None and booking.payment_deadline < at):
        return booking
    with transaction.atomic():
        booking = _locked(booking)
        _expire_one(booking, at)
    return booking


def _locked(booking: Booking) -> Booking:
    return Booking.objects.select_for_update().select_related("slot__facility", "user").get(pk=booking.pk)


# -- payment ------------------------------------------------------------------------------------------------------


def start_payment(booking: Booking, return_url: str, at: datetime.datetime | None = None) -> CreatedPayment:
    """Open a payment of a tentative booking with the configured provider; the payer goes to ``redirect_url``."""
    booking = refresh(booking, at)
    if booking.status == Status.EXPIRED:
        raise PaymentDeadlinePassed()
    if booking.status != Status.TENTATIVE:
        raise InvalidState()
    chosen = provider()
    description = f"{booking.slot.facility.name_ja} {booking.slot.starts_at.astimezone(rules.JST):%Y-%m-%d %H:%M}"
    created = chosen.create_payment(
        order_ref=booking.reference, amount_yen=booking.fee_yen, description=description, return_url=return_url
    )
    Payment.objects.create(
        booking=booking, provider=chosen.name, provider_ref=created.provider_ref, amount_yen=booking.fee_yen
    )
    return created


def apply_payment_event(provider_name: str, event: PaymentEvent, at: datetime.datetime | None = None) -> Booking:
    """Act on a verified provider callback (idempotent: the browser return and the webhook may both arrive).
    Authorised and still tentative: capture, confirm, issue the receipt. Authorised but the booking lapsed
    meanwhile: release the authorisation and raise ``PaymentDeadlinePassed``. Declined: the booking stays
    tentative until its deadline, so the resident may try again."""
    at = _now(at)
    lapsed = False
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update().filter(provider=provider_name, provider_ref=event.provider_ref).first()
        )
        if payment is None or payment.amount_yen != event.amount_yen:
            raise InvalidCallback()
        booking = _locked(payment.booking)
        if payment.status != Payment.Status.PENDING:
            return booking
        chosen = provider(provider_name)
        if event.outcome == "declined":
            payment.status = Payment.Status.DECLINED
            payment.save(update_fields=["status"])
            return booking
        _expire_one(booking, at)
        if booking.status != Status.TENTATIVE:
            chosen.cancel(payment.provider_ref)
            payment.status = Payment.Status.DECLINED
            payment.save(update_fields=["status"])
            lapsed = True
        else:
            chosen.capture(payment.provider_ref, payment.amount_yen)
            payment.status = Payment.Status.CAPTURED
            payment.captured_at = at
            payment.save(update_fields=["status", "captured_at"])
            booking.status = Status.CONFIRMED
            booking.save(update_fields=["status", "updated_at"])
            receipt = Receipt.objects.create(
                payment=payment, booking=booking, amount_yen=payment.amount_yen, payer_name=booking.user.display_name
            )
            receipt.number = f"R{at.astimezone(rules.JST):%Y}-{receipt.pk:06d}"
            receipt.save(update_fields=["number"])
    if lapsed:
        raise PaymentDeadlinePassed()
    return booking


# -- cancellation, no-show ----------------------------------------------------------------------------------------


def cancel(
    booking: Booking, *, at: datetime.datetime | None = None, force_majeure: bool = False, reason: str = ""
) -> Refund | None:
    """Cancel an active booking before its start. A paid booking is refunded by the tiers of days before use
    (all of it for force majeure, e.g. the city closing the facility); cancelling late costs penalty points
    (not for force majeure). Returns the refund record of a paid booking (amount 0 below the last tier)."""
    at = _now(at)
    with transaction.atomic():
        booking = _locked(booking)
        _expire_one(booking, at)
        if booking.status not in Booking.ACTIVE or booking.slot.starts_at <= at:
            raise InvalidState()
        days = rules.days_before_use(at, booking.slot.starts_at)
        refund = None
        payment = booking.payments.filter(status=Payment.Status.CAPTURED).first()
        if payment is not None:
            percent = 100 if force_majeure else rules.refund_percent(days)
            amount = payment.amount_yen * percent // 100
            provider_ref = provider(payment.provider).refund(payment.provider_ref, amount) if amount else ""
            refund = Refund.objects.create(
                payment=payment,
                booking=booking,
                amount_yen=amount,
                percent=percent,
                reason=reason[:200] or ("force majeure" if force_majeure else "cancelled by the user"),
                provider_ref=provider_ref,
            )
            if amount:
                payment.status = Payment.Status.REFUNDED if percent == 100 else Payment.Status.PARTIALLY_REFUNDED
                payment.save(update_fields=["status"])
        for pending in booking.payments.filter(status=Payment.Status.PENDING):
            provider(pending.provider).cancel(pending.provider_ref)
            pending.status = Payment.Status.DECLINED
            pending.save(update_fields=["status"])
        points = 0 if force_majeure else rules.late_cancellation_points(days)
        if points:
            add_penalty(booking.user, points, PenaltyRecord.Reason.LATE_CANCELLATION, booking)
        booking.status = Status.CANCELLED
        booking.cancelled_at = at
        booking.save(update_fields=["status", "cancelled_at", "updated_at"])
    return refund


def _conclude(booking: Booking, at: datetime.datetime, status: Status) -> Booking:
    """Lock ``booking`` and give it its final ``status``: it must be confirmed and its slot begun by ``at``
    (:class:`InvalidState` otherwise). Call inside a transaction; returns the locked row."""
    booking = _locked(booking)
    if booking.status != Status.CONFIRMED or booking.slot.starts_at > at:
        raise InvalidState()
    booking.status = status
    booking.save(update_fields=["status", "updated_at"])
    return booking


def mark_no_show(booking: Booking, at: datetime.datetime | None = None) -> None:
    """Staff record that a confirmed booking was not used: penalty points, no refund."""
    at = _now(at)
    with transaction.atomic():
        booking = _conclude(booking, at, Status.NO_SHOW)
        add_penalty(booking.user, rules.NO_SHOW_POINTS, PenaltyRecord.Reason.NO_SHOW, booking)


def mark_used(booking: Booking, at: datetime.datetime | None = None) -> None:
    at = _now(at)
    with transaction.atomic():
        _conclude(booking, at, Status.USED)


# -- queries for pages --------------------------------------------------------------------------------------------


def bookings_of(user: CityUser) -> QuerySet[Booking]:
    return Booking.objects.filter(user=user).select_related("slot__facility").order_by("-slot__starts_at")


def free_slots(facility: Facility, start: datetime.datetime, end: datetime.datetime) -> QuerySet[Slot]:
    """Slots of the facility starting in [start, end) with no active booking (overdue ones count as free)."""
    at = timezone.now()
    held = Booking.objects.filter(status__in=Booking.ACTIVE).exclude(Q(status__in=WAITING) & Q(payment_deadline__lt=at))
    return (
        Slot.objects.filter(facility=facility, starts_at__gte=start, starts_at__lt=end)
        .exclude(pk__in=held.values("slot_id"))
        .order_by("starts_at")
    )
