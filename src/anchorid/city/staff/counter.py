"""The counter ("no one left behind"): staff register a resident who cannot use a smartphone, book and enter
lotteries on their behalf, and hand over a one-time link code so the resident's AnchorID login, when they have
one, takes over what was done for them. Every step is a ``ProxyAction`` the resident sees on their home page.

Linking never matches names: only the code printed at the counter attaches a registration to a login. The code
has 60 bits of entropy (12 characters from a 32-character alphabet without look-alikes), is stored as its SHA-256,
expires after ``LINK_CODE_DAYS`` and is spent in the same transaction that links.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anchorid.city.booking import service as booking_service
from anchorid.city.booking.models import Booking, CityUser, Group, Slot
from anchorid.city.lottery import service as lottery_service
from anchorid.city.lottery.models import Entry, LotteryRound
from anchorid.city.staff.models import CounterRegistration, LinkCode, ProxyAction

LINK_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
LINK_CODE_LENGTH = 12
LINK_CODE_DAYS = 30
#: A note with this many digits in a row is probably a document number, which the counter must not keep.
DIGIT_RUN = re.compile(r"\d{6,}")


#: A city staff account (Django's user model of the city database). Typed loosely: the project's type-check settings
#: name the idp's account model as AUTH_USER_MODEL, which the city does not use.
StaffUser = Any


class CounterError(ValueError):
    """A refused counter step; the message is for the clerk or the resident."""


def _user_model_staff(staff: StaffUser) -> StaffUser:
    if not getattr(staff, "is_staff", False):
        raise CounterError(_("Only city staff can act at the counter."))
    return staff


def register_resident(
    staff: StaffUser, *, display_name: str, document: str, note: str = "", is_resident: bool = True
) -> CityUser:
    _user_model_staff(staff)
    display_name = display_name.strip()
    note = note.strip()
    if not display_name:
        raise CounterError(_("Enter the resident's name."))
    if document not in CounterRegistration.Document.values:
        raise CounterError(_("Choose which identity document was checked."))
    if document == CounterRegistration.Document.OTHER and not note:
        raise CounterError(_("Describe the document that was checked in the note."))
    if DIGIT_RUN.search(note):
        raise CounterError(_("Do not write document numbers in the note: record only what was checked."))
    with transaction.atomic():
        user = CityUser.objects.create(display_name=display_name, is_resident=is_resident, registered_by_staff=staff)
        CounterRegistration.objects.create(user=user, document=document, note=note, checked_by=staff)
        ProxyAction.objects.create(user=user, staff=staff, kind=ProxyAction.Kind.REGISTERED,
                                   detail=str(CounterRegistration.Document(document).label))  # fmt: skip
    return user


def hash_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _hash_code(code: str) -> str:
    return hash_text(normalise_code(code))


def normalise_code(code: str) -> str:
    return re.sub(r"[\s\-]", "", code).upper()


def issue_link_code(staff: StaffUser, user: CityUser, *, now: dt.datetime | None = None) -> str:
    """A new one-time code for a counter-registered resident (any earlier unused code stops working)."""
    _user_model_staff(staff)
    now = now or timezone.now()
    if user.sub:
        raise CounterError(_("This resident already logs in with AnchorID; no link code is needed."))
    if not CounterRegistration.objects.filter(user=user).exists():
        raise CounterError(_("Only residents registered at the counter get a link code."))
    raw = "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(LINK_CODE_LENGTH))
    with transaction.atomic():
        LinkCode.objects.filter(user=user, used_at__isnull=True).delete()
        LinkCode.objects.create(user=user, code_hash=_hash_code(raw), issued_by=staff,
                                expires_at=now + dt.timedelta(days=LINK_CODE_DAYS))  # fmt: skip
        ProxyAction.objects.create(user=user, staff=staff, kind=ProxyAction.Kind.LINK_CODE)
    return "-".join(raw[i : i + 4] for i in range(0, LINK_CODE_LENGTH, 4))


def _move_records(source: CityUser, target: CityUser) -> None:
    """Point everything that names ``source`` at ``target`` (every relation to CityUser, found from the model)."""
    for relation in CityUser._meta.related_objects:
        related_model = relation.related_model
        field = relation.field
        if relation.many_to_many:
            for obj in related_model._default_manager.filter(**{field.name: source}):
                getattr(obj, field.name).remove(source)
                getattr(obj, field.name).add(target)
        elif isinstance(field, models.ForeignKey):
            related_model._default_manager.filter(**{field.name: source}).update(**{field.name: target})


def link_account(code: str, sub: str, *, now: dt.datetime | None = None) -> CityUser:
    """Attach the counter registration named by ``code`` to the AnchorID login ``sub``. When the city already
    knows this login (it made a user at the first login), that user takes over the counter registration, its
    bookings, entries and history, and the counter's placeholder user is removed. Returns the user of ``sub``."""
    now = now or timezone.now()
    if not sub:
        raise CounterError(_("Log in with AnchorID first."))
    with transaction.atomic():
        link = LinkCode.objects.select_for_update().filter(code_hash=_hash_code(code)).first()
        if link is None or link.used_at is not None or link.expires_at <= now:
            raise CounterError(_("This link code is not valid. Codes work once and expire after %(days)d days; "
                                 "ask at the counter for a new one.") % {"days": LINK_CODE_DAYS})  # fmt: skip
        counter_user = CityUser.objects.select_for_update().get(pk=link.user_id)
        if counter_user.sub:
            raise CounterError(_("This registration is already linked to an AnchorID login."))
        existing = CityUser.objects.select_for_update().filter(sub=sub).first()
        if existing is not None and hasattr(existing, "counter_registration"):
            raise CounterError(_("Your login is already linked to a counter registration."))
        link.used_at, link.used_by_sub = now, sub
        link.save(update_fields=["used_at", "used_by_sub"])
        if existing is None:
            counter_user.sub = sub
            counter_user.save(update_fields=["sub"])
            kept = counter_user
        else:
            _check_open_entry_caps(counter_user, existing)
            _move_records(counter_user, existing)
            _one_participant_per_open_round(existing)
            existing.penalty_points += counter_user.penalty_points
            existing.registered_by_staff = counter_user.registered_by_staff
            existing.save(update_fields=["penalty_points", "registered_by_staff"])
            counter_user.delete()
            kept = existing
        CounterRegistration.objects.filter(user=kept).update(linked_at=now)
        return kept


def _one_participant_per_open_round(user: CityUser) -> None:
    """After a merge, one person's entries in a round still taking entries share one pseudonym, so the draw's cap
    on wins counts them together. (A closed round's entry list is published and digested: it stays as it was.)"""
    for round_ in LotteryRound.objects.filter(entries__user=user, closed_at__isnull=True).distinct():
        entries = Entry.objects.filter(round=round_, user=user).order_by("created_at", "pk")
        first = entries.first()
        if first is not None:
            entries.update(participant=first.participant)


def _check_open_entry_caps(counter_user: CityUser, login_user: CityUser) -> None:
    """Refuse a link that would give one person more entries than allowed in a round still taking entries."""
    combined = CityUser(penalty_points=counter_user.penalty_points + login_user.penalty_points)
    for round_ in LotteryRound.objects.filter(
        entries__user__in=[counter_user, login_user], closed_at__isnull=True
    ).distinct():
        count = Entry.objects.filter(round=round_, user__in=[counter_user, login_user]).count()
        if count > lottery_service.entries_allowed(round_, combined):
            raise CounterError(_("Together, your online and counter entries in “%(round)s” exceed what one person "
                                 "may have. Withdraw one online entry, then use the code again.")
                               % {"round": round_.title_ja})  # fmt: skip


def book_on_behalf(staff: StaffUser, user: CityUser, slot: Slot, *, group: Group | None = None) -> Booking:
    _user_model_staff(staff)
    with transaction.atomic():
        booking = booking_service.book(user, slot, group=group, staff=staff)
        ProxyAction.objects.create(user=user, staff=staff, kind=ProxyAction.Kind.BOOKED, booking=booking,
                                   detail=booking.reference)  # fmt: skip
    return booking


def enter_on_behalf(staff: StaffUser, user: CityUser, round_: LotteryRound, slot_ids: list[object]) -> Entry:
    _user_model_staff(staff)
    with transaction.atomic():
        entry = lottery_service.enter(round_, user, slot_ids, staff=staff)
        ProxyAction.objects.create(user=user, staff=staff, kind=ProxyAction.Kind.LOTTERY_ENTRY,
                                   detail=f"{round_.title_ja} {entry.public_id}")  # fmt: skip
    return entry


def cancel_on_behalf(staff: StaffUser, user: CityUser, booking: Booking) -> None:
    """Cancel at the resident's request at the counter: the booking service's refund tiers and penalty points
    apply as if the resident had cancelled online."""
    _user_model_staff(staff)
    if booking.user_id != user.pk:
        raise CounterError(_("This booking is not the resident's."))
    with transaction.atomic():
        booking_service.cancel(booking, reason="cancelled at the counter")
        ProxyAction.objects.create(user=user, staff=staff, kind=ProxyAction.Kind.CANCELLED, booking=booking,
                                   detail=booking.reference)  # fmt: skip


def confirm_on_behalf(staff: StaffUser, user: CityUser, entry: Entry) -> Booking:
    """Take a lottery win for the resident at the counter (before the confirmation deadline)."""
    _user_model_staff(staff)
    with transaction.atomic():
        booking = lottery_service.confirm_win(entry, user)
        ProxyAction.objects.create(user=user, staff=staff, kind=ProxyAction.Kind.LOTTERY_CONFIRMED, booking=booking,
                                   detail=f"{entry.public_id} {booking.reference}")  # fmt: skip
    return booking


def actions_for(user: CityUser) -> list[ProxyAction]:
    return list(ProxyAction.objects.filter(user=user).select_related("staff", "booking"))
