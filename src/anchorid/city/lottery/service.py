"""The lottery's steps as plain functions (the staff pages, the resident pages, the CLI and the tests call these).

Round life: draft → ``commit_seed`` (before entries close) → entries (``enter``) → ``close_entries`` (after the
period; entry-list digest fixed) → ``run_draw`` (checks the seed against its commitment, wins become bookings
awaiting confirmation) → winners ``confirm_win`` by ``confirm_by`` → ``release_unconfirmed`` (unconfirmed wins
expire; every slot still free opens first-come: the second round).

Every refusal raises a ``LotteryError`` whose message can be shown as it is, and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anchorid.city.booking import service as booking_service
from anchorid.city.booking.errors import BookingError
from anchorid.city.booking.models import Booking, CityUser, Slot
from anchorid.city.booking.rules import JST, closed_on
from anchorid.city.lottery import audit
from anchorid.city.lottery.draw import ALGORITHM, SEED_BYTES, EntryInput, draw
from anchorid.city.lottery.models import Choice, Entry, LotteryRound, RoundSlot


class LotteryError(ValueError):
    """A refused lottery step; the message is for the person who tried."""


class SeedTampered(LotteryError):
    """The stored seed no longer matches the commitment published before entries closed."""


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _locked(round_: LotteryRound) -> LotteryRound:
    return LotteryRound.objects.select_for_update().get(pk=round_.pk)


# --- staff: slots and the seed ------------------------------------------------------------------------------------


def add_slots(round_: LotteryRound, slots: Sequence[Slot]) -> int:
    """Put slots into a draft round and hold them for the lottery. Only free slots of lottery facilities that start
    after the confirmation deadline qualify."""
    with transaction.atomic():
        round_ = _locked(round_)
        if round_.committed_at:
            raise LotteryError(_("Slots can only be added before the seed is committed."))
        for slot in (
            Slot.objects.select_for_update().filter(pk__in=[slot.pk for slot in slots]).select_related("facility")
        ):
            if not slot.facility.lottery:
                raise LotteryError(_("%(facility)s is not a lottery facility.") % {"facility": slot.facility})
            if closed_on(slot.starts_at.astimezone(JST).date()):
                raise LotteryError(_("A slot on a day the facilities are closed cannot be in a round."))
            if slot.starts_at <= round_.confirm_by:
                raise LotteryError(_("A slot in a round must start after the winners' confirmation deadline."))
            if RoundSlot.objects.filter(slot=slot).exists():
                raise LotteryError(_("A slot is already in a lottery round."))
            if Booking.objects.filter(slot=slot, status__in=Booking.ACTIVE).exists():
                raise LotteryError(_("A slot is already booked."))
        found = Slot.objects.filter(pk__in=[slot.pk for slot in slots])
        if found.count() != len({slot.pk for slot in slots}):
            raise LotteryError(_("A slot does not exist."))
        RoundSlot.objects.bulk_create([RoundSlot(round=round_, slot=slot) for slot in found])
        found.update(held_for_lottery=True)
        return found.count()


def commit_seed(round_: LotteryRound, *, now: dt.datetime | None = None) -> str:
    """Draw a fresh 256-bit seed and publish its SHA-256. Must happen before the entry period ends."""
    now = _now(now)
    with transaction.atomic():
        round_ = _locked(round_)
        if round_.committed_at:
            raise LotteryError(_("The seed of this round is already committed."))
        if now >= round_.entries_close_at:
            raise LotteryError(_("The seed must be committed before the entry period ends."))
        if not round_.round_slots.exists():
            raise LotteryError(_("Add slots to the round before committing the seed."))
        seed = secrets.token_bytes(SEED_BYTES)
        round_.seed_hex = seed.hex()
        round_.seed_commitment = audit.seed_commitment(seed)
        round_.committed_at = now
        round_.save(update_fields=["seed_hex", "seed_commitment", "committed_at"])
        return round_.seed_commitment


# --- residents (or staff on their behalf): entries ----------------------------------------------------------------


def entries_allowed(round_: LotteryRound, user: CityUser) -> int:
    """How many entries this person may have in the round: one fewer per penalty point; none at the bar."""
    if user.penalty_points >= round_.penalty_block_points:
        return 0
    return max(0, round_.max_entries_per_user - user.penalty_points)


def enter(
    round_: LotteryRound,
    user: CityUser,
    slot_ids: Sequence[object],
    *,
    staff: Any = None,  # a city staff account: entered at the counter on the person's behalf
    now: dt.datetime | None = None,
) -> Entry:
    """Record an entry with ranked choices (``slot_ids``: 1st choice first; the slots' ids as submitted)."""
    now = _now(now)
    if not slot_ids:
        raise LotteryError(_("Choose at least one slot."))
    if len(slot_ids) > round_.max_choices:
        raise LotteryError(_("This round allows at most %(count)d choices.") % {"count": round_.max_choices})
    try:
        wanted = [int(str(value)) for value in slot_ids]
    except ValueError:
        raise LotteryError(_("A chosen slot does not exist in this round.")) from None
    if len(set(wanted)) != len(wanted):
        raise LotteryError(_("Each slot can be chosen once per entry."))
    with transaction.atomic():
        round_ = LotteryRound.objects.get(pk=round_.pk)
        user = CityUser.objects.select_for_update().get(pk=user.pk)  # serialises one person's entries
        if not round_.committed_at or round_.closed_at or not (round_.entries_open_at <= now < round_.entries_close_at):
            raise LotteryError(_("This round is not accepting entries now."))
        by_slot = {rs.slot_id: rs for rs in round_.round_slots.filter(slot_id__in=wanted)}
        if len(by_slot) != len(wanted):
            raise LotteryError(_("A chosen slot does not exist in this round."))
        allowed = entries_allowed(round_, user)
        if allowed == 0:
            raise LotteryError(_("Your penalty points bar you from lottery entries for now."))
        existing = list(Entry.objects.filter(round=round_, user=user))
        if len(existing) >= allowed:
            raise LotteryError(_("You already have the most entries allowed in this round (%(count)d).")
                               % {"count": allowed})  # fmt: skip
        participant = existing[0].participant if existing else "P" + secrets.token_hex(6).upper()
        entry = Entry.objects.create(round=round_, user=user, participant=participant,
                                     entered_by_staff=staff, on_behalf=staff is not None)  # fmt: skip
        Choice.objects.bulk_create(
            [Choice(entry=entry, rank=rank, round_slot=by_slot[slot_id]) for rank, slot_id in enumerate(wanted, 1)]
        )
        return entry


def withdraw(entry: Entry, user: CityUser, *, now: dt.datetime | None = None) -> None:
    now = _now(now)
    with transaction.atomic():
        round_ = _locked(entry.round)
        if entry.user_id != user.pk:
            raise LotteryError(_("This entry is not yours."))
        if round_.closed_at or now >= round_.entries_close_at:
            raise LotteryError(_("Entries can only be withdrawn during the entry period."))
        entry.delete()


# --- staff: close, draw, release ----------------------------------------------------------------------------------


def entry_inputs(round_: LotteryRound) -> list[EntryInput]:
    """The round's entries as the draw and the audit document see them."""
    choices: dict[int, list[str]] = {}
    for entry_id, slot_id in (
        Choice.objects.filter(entry__round=round_)
        .order_by("entry_id", "rank")
        .values_list("entry_id", "round_slot__slot_id")
    ):
        choices.setdefault(entry_id, []).append(str(slot_id))
    return [
        EntryInput(entry=public_id, participant=participant, choices=tuple(choices.get(pk, ())))
        for pk, public_id, participant in Entry.objects.filter(round=round_).values_list(
            "pk", "public_id", "participant"
        )
    ]


def slot_refs(round_: LotteryRound) -> list[str]:
    return [str(slot_id) for slot_id in round_.round_slots.order_by("slot_id").values_list("slot_id", flat=True)]


def close_entries(round_: LotteryRound, *, now: dt.datetime | None = None) -> str:
    """Freeze the entry list once the period is over; returns (and publishes) its digest."""
    now = _now(now)
    with transaction.atomic():
        round_ = _locked(round_)
        if not round_.committed_at:
            raise LotteryError(_("Commit the seed first."))
        if round_.closed_at:
            raise LotteryError(_("Entries are already closed."))
        if now < round_.entries_close_at:
            raise LotteryError(_("The entry period has not ended yet."))
        round_.entries_digest = audit.entries_digest(entry_inputs(round_))
        round_.closed_at = now
        round_.save(update_fields=["entries_digest", "closed_at"])
        return round_.entries_digest


def run_draw(round_: LotteryRound, *, now: dt.datetime | None = None) -> list[Entry]:
    """Check the seed and the entry list against what was published, draw, and give every win a booking awaiting
    confirmation until ``confirm_by``. Returns the winning entries."""
    now = _now(now)
    with transaction.atomic():
        round_ = _locked(round_)
        if not round_.closed_at:
            raise LotteryError(_("Close the entries first."))
        if round_.drawn_at:
            raise LotteryError(_("This round has already been drawn."))
        if now >= round_.confirm_by:
            raise LotteryError(_("The confirmation deadline has passed; the round cannot be drawn any more."))
        seed = bytes.fromhex(round_.seed_hex) if len(round_.seed_hex) == 2 * SEED_BYTES else b""
        if not audit.seed_matches(seed, round_.seed_commitment):
            raise SeedTampered(_("The stored seed does not match its published commitment. The draw is refused."))
        entries = entry_inputs(round_)
        if audit.entries_digest(entries) != round_.entries_digest:
            raise LotteryError(_("The entry list changed after entries closed. The draw is refused."))
        result = draw(seed, round_.ref, entries, slot_refs(round_), max_wins_per_participant=round_.max_wins_per_user)
        by_public_id = {entry.public_id: entry for entry in Entry.objects.filter(round=round_).select_related("user")}
        round_slots = {str(rs.slot_id): rs for rs in round_.round_slots.select_related("slot", "slot__facility")}
        winners = []
        for win in result.wins:
            entry, round_slot = by_public_id[win.entry], round_slots[win.slot]
            try:
                entry.booking = booking_service.book(entry.user, round_slot.slot, at=now,
                                                     status=Booking.Status.AWAITING_CONFIRMATION,
                                                     payment_deadline=round_.confirm_by)  # fmt: skip
            except BookingError as error:  # e.g. the slot was taken or closed by hand meanwhile: draw nothing
                raise LotteryError(_("Slot %(slot)s cannot be given to a winner: %(reason)s")
                                   % {"slot": win.slot, "reason": error.message}) from None  # fmt: skip
            entry.won_slot, entry.won_rank = round_slot, win.rank
            entry.save(update_fields=["booking", "won_slot", "won_rank"])
            winners.append(entry)
        round_.result = result.as_dict()
        round_.result_digest = audit.result_digest(result)
        round_.drawn_at = now
        round_.save(update_fields=["result", "result_digest", "drawn_at"])
        return winners


def confirm_win(entry: Entry, user: CityUser, *, now: dt.datetime | None = None) -> Booking:
    """The winner takes the slot: the booking becomes tentative (to be paid by its payment deadline)."""
    now = _now(now)
    with transaction.atomic():
        entry = Entry.objects.select_related("round", "booking").get(pk=entry.pk)
        if entry.user_id != user.pk:
            raise LotteryError(_("This entry is not yours."))
        if entry.booking is None:
            raise LotteryError(_("This entry did not win."))
        if now > entry.round.confirm_by:
            raise LotteryError(_("The confirmation deadline has passed."))
        if entry.booking.status != Booking.Status.AWAITING_CONFIRMATION:
            raise LotteryError(_("This win is no longer awaiting confirmation."))
        try:
            return booking_service.confirm_lottery_win(entry.booking, at=now)
        except BookingError as error:
            raise LotteryError(str(error.message)) from None


def release_unconfirmed(round_: LotteryRound, *, now: dt.datetime | None = None) -> int:
    """After ``confirm_by``: expire wins nobody confirmed and open every slot still free to first-come booking.
    Returns how many slots were opened. Safe to call again (it does nothing the second time)."""
    now = _now(now)
    with transaction.atomic():
        round_ = _locked(round_)
        if not round_.drawn_at:
            raise LotteryError(_("This round has not been drawn yet."))
        if now <= round_.confirm_by:
            raise LotteryError(_("Winners may still confirm until the deadline."))
        if round_.released_at:
            return 0
        for entry in Entry.objects.filter(round=round_, booking__status=Booking.Status.AWAITING_CONFIRMATION):
            assert entry.booking is not None
            booking_service.refresh(entry.booking, at=now)  # past its deadline: expires
        held = Slot.objects.filter(lottery_slot__round=round_, held_for_lottery=True)
        opened = list(held.exclude(bookings__status__in=Booking.ACTIVE))
        for slot in opened:
            booking_service.release_slot(slot)
        count = len(opened)
        round_.released_at = now
        round_.save(update_fields=["released_at"])
        return count


def release_due(*, now: dt.datetime | None = None) -> int:
    """Release every drawn round whose confirmation deadline has passed (the periodic sweep)."""
    now = _now(now)
    return sum(
        release_unconfirmed(round_, now=now)
        for round_ in LotteryRound.objects.filter(drawn_at__isnull=False, released_at__isnull=True, confirm_by__lt=now)
    )


def second_round_slots(round_: LotteryRound) -> list[Slot]:
    """Slots of the round open to first-come booking now (after release, not booked)."""
    if not LotteryRound.objects.filter(pk=round_.pk, released_at__isnull=False).exists():
        return []
    return list(
        Slot.objects.filter(lottery_slot__round=round_, held_for_lottery=False)
        .exclude(bookings__status__in=Booking.ACTIVE)
        .select_related("facility")
        .order_by("starts_at")
    )


# --- the published audit document ---------------------------------------------------------------------------------


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value else None


def audit_document(round_: LotteryRound) -> dict[str, Any]:
    """What the round page publishes as JSON: more of it as the round goes on (entries once closed, seed and wins
    once drawn)."""
    document: dict[str, Any] = {
        "algorithm": ALGORITHM,
        "round": round_.ref,
        "entries_open_at": _iso(round_.entries_open_at),
        "entries_close_at": _iso(round_.entries_close_at),
        "confirm_by": _iso(round_.confirm_by),
        "max_choices": round_.max_choices,
        "max_wins_per_participant": round_.max_wins_per_user,
        "slots": slot_refs(round_),
        "seed_commitment": round_.seed_commitment or None,
        "committed_at": _iso(round_.committed_at),
        "entries_digest": round_.entries_digest or None,
        "closed_at": _iso(round_.closed_at),
        "seed": None,
        "entries": None,
        "wins": None,
        "result_digest": None,
        "drawn_at": _iso(round_.drawn_at),
    }
    if round_.closed_at:
        document["entries"] = audit.canonical_entries(entry_inputs(round_))
    if round_.drawn_at and isinstance(round_.result, dict):
        document["seed"] = round_.seed_hex
        document["wins"] = round_.result.get("wins", [])
        document["result_digest"] = round_.result_digest
    return document
