"""Booking rules through the service: windows, fees and reductions, deadlines and expiry, lottery wins,
cancellation refunds by tiers, penalty points, no-shows — and bad input refused with nothing stored."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from anchorid.city.booking import rules, service
from anchorid.city.booking.errors import (
    GroupNotFound,
    HeldForLottery,
    InvalidGroup,
    InvalidState,
    NotGroupMember,
    OutsideWindow,
    PaymentDeadlinePassed,
    SlotNotFound,
    SlotTaken,
)
from anchorid.city.booking.models import Booking, Facility, Group, PenaltyRecord, Slot

from .booking_support import facility, outsider_claims, resident_claims, slot_in, user

pytestmark = pytest.mark.django_db
Status = Booking.Status


def test_it_books_a_free_slot_tentatively_with_a_payment_deadline() -> None:
    slot = slot_in(10, facility())
    booking = service.book(user(resident_claims()), slot)
    assert booking.status == Status.TENTATIVE
    assert booking.fee_yen == 6000
    assert booking.payment_deadline is not None
    assert timezone.now() < booking.payment_deadline <= slot.starts_at - rules.PAYMENT_BEFORE_USE


def test_it_refuses_a_second_booking_of_the_same_slot_as_already_taken() -> None:
    slot = slot_in(10, facility())
    service.book(user(resident_claims()), slot)
    with pytest.raises(SlotTaken) as raised:
        service.book(user(resident_claims("another")), slot)
    assert raised.value.status == 409
    assert raised.value.code == "slot_taken"
    with translation.override("en"):
        assert "already taken" in str(raised.value.message)
    assert Booking.objects.filter(slot=slot).count() == 1


def test_it_lets_residents_book_two_months_ahead_and_others_one_month() -> None:
    hall = facility()
    slot_45 = slot_in(45, hall)
    service.book(user(resident_claims()), slot_45)
    with pytest.raises(OutsideWindow):
        service.book(user(outsider_claims()), slot_in(45, hall, hour=14))
    service.book(user(outsider_claims()), slot_in(29, hall))
    with pytest.raises(OutsideWindow):
        service.book(user(resident_claims()), slot_in(61, hall))
    assert Booking.objects.count() == 2


def test_it_refuses_a_slot_that_has_started() -> None:
    hall = facility()
    now = timezone.now()
    started = service.create_slot(hall, now - dt.timedelta(minutes=5), now + dt.timedelta(hours=1), 100)
    with pytest.raises(OutsideWindow):
        service.book(user(resident_claims()), started)
    assert not Booking.objects.exists()


def test_it_charges_non_residents_more_and_rounds_down() -> None:
    slot = slot_in(5, facility(), fee=1001)
    assert service.book(user(outsider_claims()), slot).fee_yen == 1501


def test_it_reduces_the_fee_for_an_approved_group_only() -> None:
    hall = facility()
    rep = user(resident_claims())
    approved = Group.objects.create(name="Choir", representative=rep, reduction_approved=True, reduction_percent=50)
    pending = Group.objects.create(name="Band", representative=rep, reduction_approved=False, reduction_percent=50)
    assert service.book(rep, slot_in(5, hall), group=approved).fee_yen == 3000
    assert service.book(rep, slot_in(6, hall), group=pending).fee_yen == 6000


def test_it_lets_members_but_not_strangers_book_for_a_group() -> None:
    hall = facility()
    rep, member, stranger = user(resident_claims("r")), user(resident_claims("m")), user(resident_claims("s"))
    group = Group.objects.create(name="Chess club", representative=rep)
    group.members.add(member)
    service.book(member, slot_in(5, hall), group=group)
    with pytest.raises(NotGroupMember):
        service.book(stranger, slot_in(6, hall), group=group)
    assert Booking.objects.count() == 1


def test_it_halves_court_fees_for_residents_65_or_older_from_the_verified_claim() -> None:
    court = facility(Facility.Kind.COURT, "Tennis court")
    senior = user(resident_claims("senior", age_over_65=True))
    assert service.book(senior, slot_in(5, court, fee=1000)).fee_yen == 500
    hall_booking = service.book(senior, slot_in(5, facility(), fee=1000))
    assert hall_booking.fee_yen == 1000  # the reduction is for sports courts only


def test_it_confirms_a_free_slot_at_once() -> None:
    booking = service.book(user(resident_claims()), slot_in(5, facility(), fee=0))
    assert booking.status == Status.CONFIRMED
    assert booking.payment_deadline is None


def test_it_keeps_lottery_slots_from_first_come_booking_until_released() -> None:
    slot = slot_in(5, facility(lottery=True))
    Slot.objects.filter(pk=slot.pk).update(held_for_lottery=True)
    slot.refresh_from_db()
    with pytest.raises(HeldForLottery):
        service.book(user(resident_claims()), slot)
    service.release_slot(slot)
    assert service.book(user(resident_claims()), slot).status == Status.TENTATIVE


def test_it_expires_an_unpaid_booking_after_its_deadline_and_frees_the_slot() -> None:
    slot = slot_in(10, facility())
    first = service.book(user(resident_claims()), slot)
    assert first.payment_deadline is not None
    later = first.payment_deadline + dt.timedelta(seconds=1)
    second = service.book(user(resident_claims("b")), slot, at=later)  # the check on access expires the first
    first.refresh_from_db()
    assert first.status == Status.EXPIRED
    assert second.status == Status.TENTATIVE


def test_it_sweeps_overdue_bookings() -> None:
    hall = facility()
    booking = service.book(user(resident_claims()), slot_in(3, hall))  # pay by the day before
    service.book(user(resident_claims()), slot_in(20, hall))  # pay within 7 days
    assert booking.payment_deadline is not None
    assert service.expire_overdue(at=booking.payment_deadline - dt.timedelta(seconds=1)) == 0
    assert service.expire_overdue(at=booking.payment_deadline + dt.timedelta(seconds=1)) == 1


def test_it_turns_a_confirmed_lottery_win_into_a_tentative_booking() -> None:
    slot = slot_in(40, facility(lottery=True))
    Slot.objects.filter(pk=slot.pk).update(held_for_lottery=True)
    slot.refresh_from_db()
    confirm_by = timezone.now() + dt.timedelta(days=5)
    win = service.book(user(resident_claims()), slot, status=Status.AWAITING_CONFIRMATION, payment_deadline=confirm_by)
    assert win.payment_deadline == confirm_by
    confirmed = service.confirm_lottery_win(win)
    assert confirmed.status == Status.TENTATIVE


def test_it_refuses_a_lottery_win_confirmed_too_late() -> None:
    slot = slot_in(40, facility(lottery=True))
    confirm_by = timezone.now() + dt.timedelta(days=5)
    win = service.book(user(resident_claims()), slot, status=Status.AWAITING_CONFIRMATION, payment_deadline=confirm_by)
    with pytest.raises(PaymentDeadlinePassed):
        service.confirm_lottery_win(win, at=confirm_by + dt.timedelta(seconds=1))
    win.refresh_from_db()
    assert win.status == Status.EXPIRED


@pytest.mark.parametrize(("days", "percent", "points"), [(10, 100, 0), (7, 100, 0), (3, 50, 0), (1, 0, 1)])
def test_it_refunds_by_tiers_of_days_before_use(days: int, percent: int, points: int) -> None:
    from .test_booking_payments import pay_in_full

    booking = service.book(user(resident_claims()), slot_in(days, facility(), hour=20, fee=3000))
    pay_in_full(booking)
    refund = service.cancel(booking)
    assert refund is not None
    assert (refund.percent, refund.amount_yen) == (percent, 3000 * percent // 100)
    booking.user.refresh_from_db()
    assert booking.user.penalty_points == points
    assert PenaltyRecord.objects.filter(user=booking.user).count() == (1 if points else 0)


def test_it_refunds_everything_without_penalty_for_force_majeure() -> None:
    from .test_booking_payments import pay_in_full

    booking = service.book(user(resident_claims()), slot_in(1, facility(), hour=20, fee=3000))
    pay_in_full(booking)
    refund = service.cancel(booking, force_majeure=True)
    assert refund is not None
    assert refund.amount_yen == 3000
    booking.user.refresh_from_db()
    assert booking.user.penalty_points == 0


def test_it_gives_penalty_points_for_a_no_show_and_refuses_one_before_the_start() -> None:
    from .test_booking_payments import pay_in_full

    slot = slot_in(3, facility())
    booking = service.book(user(resident_claims()), slot)
    pay_in_full(booking)
    with pytest.raises(InvalidState):
        service.mark_no_show(booking)
    service.mark_no_show(booking, at=slot.ends_at)
    booking.refresh_from_db()
    booking.user.refresh_from_db()
    assert booking.status == Status.NO_SHOW
    assert booking.user.penalty_points == rules.NO_SHOW_POINTS


def test_it_refuses_to_cancel_twice() -> None:
    booking = service.book(user(resident_claims()), slot_in(10, facility()))
    assert service.cancel(booking) is None  # unpaid: nothing to refund
    with pytest.raises(InvalidState):
        service.cancel(booking)


@pytest.mark.parametrize("forged", ["", "abc", "-1", "999999", "1; DROP TABLE booking_slot", "1.5"])
def test_it_refuses_forged_slot_ids(forged: str) -> None:
    slot_in(5, facility())
    with pytest.raises(SlotNotFound):
        service.get_slot(forged)


def test_it_registers_a_user_once_per_pairwise_sub_and_follows_the_verified_claims() -> None:
    first = user(resident_claims("same"))
    assert first.is_resident
    moved = user({"sub": "same", "name": "鎌倉 花子", "resident_of": "142051"})
    assert moved.pk == first.pk
    assert not moved.is_resident


def test_it_creates_a_group_and_lets_a_member_join_with_the_invite_code() -> None:
    rep, member = user(resident_claims("rep")), user(resident_claims("member"))
    group = service.create_group(rep, "  鎌倉 合唱団  ")
    assert group.name == "鎌倉 合唱団"
    assert service.join_group(member, group.invite_code) == group
    assert list(service.groups_of(member)) == [group]
    service.book(member, slot_in(5, facility()), group=group)


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_it_refuses_a_group_without_a_proper_name(name: str) -> None:
    with pytest.raises(InvalidGroup):
        service.create_group(user(resident_claims()), name)
    assert not Group.objects.exists()


@pytest.mark.parametrize("code", ["", "not-a-code", "x" * 100])
def test_it_refuses_an_unknown_invite_code(code: str) -> None:
    service.create_group(user(resident_claims("rep")), "Choir")
    with pytest.raises(GroupNotFound):
        service.join_group(user(resident_claims("stranger")), code)
    assert not Group.objects.filter(members__sub="stranger").exists()
