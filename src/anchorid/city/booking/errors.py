"""Typed booking errors. Each carries a stable ``code`` (for APIs, tests and logs) and a message for people;
the views show the message and answer with ``status`` (409 for "already taken", 400/403/404 otherwise)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class BookingError(Exception):
    code = "booking_error"
    status = 400
    default_message: str | Promise = _("The booking could not be made.")

    def __init__(self, message: str | Promise | None = None) -> None:
        self.message = message if message is not None else self.default_message
        super().__init__(str(self.message))


class SlotTaken(BookingError):
    code = "slot_taken"
    status = 409
    default_message = _("This slot is already taken. Please choose another one.")


class SlotNotFound(BookingError):
    code = "slot_not_found"
    status = 404
    default_message = _("There is no such slot.")


class OutsideWindow(BookingError):
    code = "outside_window"
    status = 403
    default_message = _("This slot is not open for booking yet, or it has already started.")


class HeldForLottery(BookingError):
    code = "held_for_lottery"
    status = 403
    default_message = _("This slot is given out by lottery; it opens for first-come booking only if unclaimed.")


class NotGroupMember(BookingError):
    code = "not_group_member"
    status = 403
    default_message = _("You can book for a group only as its representative or one of its members.")


class InvalidSlot(BookingError):
    code = "invalid_slot"
    default_message = _("The slot is not valid.")


class SlotOverlaps(BookingError):
    code = "slot_overlaps"
    status = 409
    default_message = _("The slot overlaps another slot of the same facility.")


class InvalidState(BookingError):
    code = "invalid_state"
    status = 409
    default_message = _("The booking cannot be changed in its current state.")


class PaymentDeadlinePassed(BookingError):
    code = "payment_deadline_passed"
    status = 409
    default_message = _("The payment deadline has passed; the booking was cancelled.")


class PaymentFailed(BookingError):
    code = "payment_failed"
    status = 402
    default_message = _("The payment did not go through.")


class InvalidCallback(BookingError):
    code = "invalid_callback"
    default_message = _("The payment notification could not be verified.")


class InvalidGroup(BookingError):
    code = "invalid_group"
    default_message = _("A group needs a name of at most 200 characters.")


class GroupNotFound(BookingError):
    code = "group_not_found"
    status = 404
    default_message = _("There is no group with this invite code.")
