"""A lottery round end to end in the database: commit, entries, close, draw, confirm, release to the second round,
and the refusals on the way (each changes nothing)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.utils import translation

from anchorid.city.booking import service as booking_service
from anchorid.city.booking.errors import HeldForLottery
from anchorid.city.booking.models import Booking, Slot
from anchorid.city.lottery import audit, service
from anchorid.city.lottery.models import Choice, Entry, LotteryRound
from anchorid.city.lottery.service import LotteryError, SeedTampered

from .lottery_support import (
    AFTER_CLOSE,
    AFTER_CONFIRM,
    DURING,
    T0,
    lottery_facility,
    make_round,
    make_slots,
    open_round,
    resident,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Service messages are translated when raised: read them in English whatever an earlier request activated."""
    with translation.override("en"):
        yield


def drawn_round(entrants: int = 6, slots: int = 3, **overrides: object) -> tuple[LotteryRound, list[Slot]]:
    made = make_slots(lottery_facility(), slots)
    round_ = open_round(made, **overrides)
    ids = [slot.pk for slot in made]
    for i in range(entrants):
        service.enter(round_, resident(f"resident {i}"), ids, now=DURING)
    service.close_entries(round_, now=AFTER_CLOSE)
    service.run_draw(round_, now=AFTER_CLOSE)
    round_.refresh_from_db()
    return round_, made


def test_it_publishes_only_the_commitment_before_the_draw() -> None:
    round_ = open_round(make_slots(lottery_facility(), 2))
    assert round_.seed_commitment == audit.seed_commitment(bytes.fromhex(round_.seed_hex))
    document = service.audit_document(round_)
    assert document["seed_commitment"] == round_.seed_commitment
    assert document["seed"] is None
    assert document["entries"] is None


def test_it_holds_round_slots_from_first_come_booking() -> None:
    slots = make_slots(lottery_facility(), 1)
    open_round(slots)
    with pytest.raises(HeldForLottery):
        booking_service.book(resident("early bird"), Slot.objects.get(pk=slots[0].pk), at=DURING)
    assert not Booking.objects.exists()


def test_it_makes_wins_into_bookings_awaiting_confirmation() -> None:
    round_, _ = drawn_round()
    winners = Entry.objects.filter(round=round_, booking__isnull=False)
    assert winners.count() == 3
    for entry in winners:
        assert entry.booking is not None
        assert entry.booking.status == Booking.Status.AWAITING_CONFIRMATION
        assert entry.booking.payment_deadline == round_.confirm_by
    document = service.audit_document(round_)
    assert document["seed"] == round_.seed_hex
    assert audit.verify_document(document).ok


def test_it_gives_the_same_result_when_redrawn_from_the_same_seed() -> None:
    round_, _ = drawn_round()
    again = service.audit_document(round_)
    result = service.draw(bytes.fromhex(round_.seed_hex), round_.ref, service.entry_inputs(round_),
                          service.slot_refs(round_), max_wins_per_participant=1)  # fmt: skip
    assert [win.as_dict() for win in result.wins] == again["wins"]


def test_it_caps_wins_per_person_across_their_entries() -> None:
    made = make_slots(lottery_facility(), 3)
    round_ = open_round(made, max_entries_per_user=2, max_wins_per_user=1)
    keen = resident("keen")
    service.enter(round_, keen, [made[0].pk], now=DURING)
    service.enter(round_, keen, [made[1].pk], now=DURING)
    service.close_entries(round_, now=AFTER_CLOSE)
    service.run_draw(round_, now=AFTER_CLOSE)
    assert Booking.objects.filter(user=keen).count() == 1


def test_it_caps_entries_per_person() -> None:
    made = make_slots(lottery_facility(), 3)
    round_ = open_round(made, max_entries_per_user=1)
    person = resident("one entry")
    service.enter(round_, person, [made[0].pk], now=DURING)
    with pytest.raises(LotteryError, match="most entries"):
        service.enter(round_, person, [made[1].pk], now=DURING)
    assert Entry.objects.filter(user=person).count() == 1


def test_it_takes_an_entry_away_per_penalty_point() -> None:
    made = make_slots(lottery_facility(), 2)
    round_ = open_round(made, max_entries_per_user=2, penalty_block_points=3)
    penalised = resident("penalised", penalty_points=1)
    service.enter(round_, penalised, [made[0].pk], now=DURING)
    with pytest.raises(LotteryError, match=r"most entries allowed in this round \(1\)"):
        service.enter(round_, penalised, [made[1].pk], now=DURING)


def test_it_bars_entries_at_the_penalty_limit() -> None:
    made = make_slots(lottery_facility(), 1)
    round_ = open_round(made, penalty_block_points=3)
    barred = resident("barred", penalty_points=3)
    with pytest.raises(LotteryError, match="penalty points"):
        service.enter(round_, barred, [made[0].pk], now=DURING)
    assert not Entry.objects.exists()


@pytest.mark.parametrize("when", [T0 - dt.timedelta(seconds=1), T0 + dt.timedelta(days=10)])
def test_it_refuses_entries_outside_the_period(when: dt.datetime) -> None:
    made = make_slots(lottery_facility(), 1)
    round_ = open_round(made)
    with pytest.raises(LotteryError, match="not accepting entries"):
        service.enter(round_, resident("late"), [made[0].pk], now=when)
    assert not Entry.objects.exists()
    assert not Choice.objects.exists()


def test_it_refuses_entries_before_the_seed_is_committed() -> None:
    made = make_slots(lottery_facility(), 1)
    round_ = make_round(made)
    with pytest.raises(LotteryError, match="not accepting entries"):
        service.enter(round_, resident("eager"), [made[0].pk], now=DURING)


def test_it_refuses_more_choices_than_allowed() -> None:
    made = make_slots(lottery_facility(), 4)
    round_ = open_round(made, max_choices=3)
    with pytest.raises(LotteryError, match="at most 3 choices"):
        service.enter(round_, resident("greedy"), [slot.pk for slot in made], now=DURING)
    assert not Entry.objects.exists()


@pytest.mark.parametrize("forged", [999999, "1 OR 1=1", "", None])
def test_it_refuses_forged_slot_ids(forged: object) -> None:
    made = make_slots(lottery_facility(), 2)
    round_ = open_round(made)
    with pytest.raises(LotteryError, match="does not exist in this round"):
        service.enter(round_, resident("forger"), [made[0].pk, forged], now=DURING)
    assert not Entry.objects.exists()
    assert not Choice.objects.exists()


def test_it_refuses_a_slot_of_another_round() -> None:
    facility = lottery_facility()
    first = open_round(make_slots(facility, 1))
    other_slot = make_slots(facility, 1, start=T0 + dt.timedelta(days=60))
    open_round(other_slot)
    with pytest.raises(LotteryError, match="does not exist in this round"):
        service.enter(first, resident("mixer"), [other_slot[0].pk], now=DURING)


def test_it_refuses_the_same_slot_twice_in_one_entry() -> None:
    made = make_slots(lottery_facility(), 2)
    round_ = open_round(made)
    with pytest.raises(LotteryError, match="once per entry"):
        service.enter(round_, resident("twice"), [made[0].pk, made[0].pk], now=DURING)
    assert not Entry.objects.exists()


def test_it_refuses_a_commitment_after_entries_close() -> None:
    round_ = make_round(make_slots(lottery_facility(), 1))
    with pytest.raises(LotteryError, match="before the entry period ends"):
        service.commit_seed(round_, now=AFTER_CLOSE)
    round_.refresh_from_db()
    assert round_.seed_commitment == ""


def test_it_refuses_to_close_before_the_period_ends() -> None:
    round_ = open_round(make_slots(lottery_facility(), 1))
    with pytest.raises(LotteryError, match="not ended"):
        service.close_entries(round_, now=DURING)


def test_it_detects_a_seed_changed_after_the_commitment() -> None:
    made = make_slots(lottery_facility(), 2)
    round_ = open_round(made)
    service.enter(round_, resident("a"), [made[0].pk], now=DURING)
    service.close_entries(round_, now=AFTER_CLOSE)
    LotteryRound.objects.filter(pk=round_.pk).update(seed_hex="ab" * 32)  # someone edits the database
    with pytest.raises(SeedTampered):
        service.run_draw(round_, now=AFTER_CLOSE)
    round_.refresh_from_db()
    assert round_.drawn_at is None
    assert not Booking.objects.exists()


def test_it_detects_an_entry_list_changed_after_closing() -> None:
    made = make_slots(lottery_facility(), 2)
    round_ = open_round(made)
    entry = service.enter(round_, resident("a"), [made[0].pk], now=DURING)
    service.close_entries(round_, now=AFTER_CLOSE)
    Choice.objects.filter(entry=entry).update(round_slot=round_.round_slots.get(slot=made[1]))
    with pytest.raises(LotteryError, match="entry list changed"):
        service.run_draw(round_, now=AFTER_CLOSE)
    assert not Booking.objects.exists()


def test_it_lets_a_winner_confirm_within_the_window() -> None:
    round_, _ = drawn_round(entrants=1, slots=1)
    entry = Entry.objects.get(round=round_)
    booking = service.confirm_win(entry, entry.user, now=AFTER_CLOSE + dt.timedelta(days=1))
    assert booking.status == Booking.Status.TENTATIVE
    assert booking.payment_deadline is not None


def test_it_refuses_a_confirmation_by_someone_else() -> None:
    round_, _ = drawn_round(entrants=1, slots=1)
    entry = Entry.objects.get(round=round_)
    with pytest.raises(LotteryError, match="not yours"):
        service.confirm_win(entry, resident("stranger"), now=AFTER_CLOSE)
    assert Booking.objects.get().status == Booking.Status.AWAITING_CONFIRMATION


def test_it_releases_unconfirmed_wins_to_the_second_round() -> None:
    round_, _ = drawn_round(entrants=2, slots=3)
    confirmed, unconfirmed = Entry.objects.filter(round=round_, booking__isnull=False)
    service.confirm_win(confirmed, confirmed.user, now=AFTER_CLOSE)
    with pytest.raises(LotteryError, match="may still confirm"):
        service.release_unconfirmed(round_, now=AFTER_CLOSE)
    opened = service.release_unconfirmed(round_, now=AFTER_CONFIRM)
    assert opened == 2  # the unconfirmed win and the slot nobody won
    unconfirmed.refresh_from_db()
    assert unconfirmed.booking is not None
    assert unconfirmed.booking.status == Booking.Status.EXPIRED
    with pytest.raises(LotteryError, match="deadline has passed"):
        service.confirm_win(unconfirmed, unconfirmed.user, now=AFTER_CONFIRM)
    with pytest.raises(LotteryError, match="no longer awaiting"):
        service.confirm_win(unconfirmed, unconfirmed.user, now=AFTER_CLOSE)
    second = service.second_round_slots(round_)
    assert len(second) == 2
    assert confirmed.won_slot is not None
    assert confirmed.won_slot.slot not in second
    # first come, through the booking service
    late = resident("second round")
    booking = booking_service.book(late, second[0], at=AFTER_CONFIRM)
    assert booking.status in (Booking.Status.TENTATIVE, Booking.Status.CONFIRMED)
    assert service.release_unconfirmed(round_, now=AFTER_CONFIRM) == 0  # idempotent


def test_it_refuses_to_draw_twice() -> None:
    round_, _ = drawn_round(entrants=1, slots=1)
    with pytest.raises(LotteryError, match="already been drawn"):
        service.run_draw(round_, now=AFTER_CLOSE)
    assert Booking.objects.count() == 1


def test_it_refuses_slots_of_a_facility_without_lottery() -> None:
    facility = lottery_facility()
    facility.lottery = False
    facility.save()
    round_ = make_round([])
    with pytest.raises(LotteryError, match="not a lottery facility"):
        service.add_slots(round_, make_slots(facility, 1))
    assert not round_.round_slots.exists()


def test_it_lets_a_person_withdraw_during_the_period() -> None:
    made = make_slots(lottery_facility(), 1)
    round_ = open_round(made)
    person = resident("undecided")
    entry = service.enter(round_, person, [made[0].pk], now=DURING)
    with pytest.raises(LotteryError, match="not yours"):
        service.withdraw(entry, resident("other"), now=DURING)
    service.withdraw(entry, person, now=DURING)
    assert not Entry.objects.exists()
