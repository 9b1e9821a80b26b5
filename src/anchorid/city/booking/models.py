"""What the city stores for facility booking. Constraints that decide correctness live in the database:

- one active booking per slot (a partial unique index on ``Booking.slot`` for the active statuses);
- slots of one facility never overlap (PostgreSQL: an exclusion constraint over ``tstzrange``; SQLite: triggers
  that abort an overlapping insert or update — SQLite has one writer at a time, so the check and the write cannot
  interleave). Both are created by migration 0002, branching on the database vendor;
- a slot ends after it starts, fees are never negative, percentages stay within 0–100 (check constraints).

Residents are known only by the pairwise ``sub`` AnchorID gives the city; a resident registered at the counter
has no ``sub`` until they first log in.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def new_reference() -> str:
    """An opaque booking reference for URLs and receipts (nothing to enumerate)."""
    return "B" + secrets.token_hex(6).upper()


def new_invite_code() -> str:
    """The code a group's representative hands to members so they can join (unguessable)."""
    return secrets.token_urlsafe(12)


class CityUser(models.Model):
    """A registered user of the city's facilities: one per AnchorID pairwise ``sub``."""

    sub = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 (NULL until a counter-registered user logs in; unique when set)
    display_name = models.CharField(_("name"), max_length=200, blank=True)
    is_resident = models.BooleanField(_("resident"), default=False)
    is_over_65 = models.BooleanField(_("65 or older"), default=False)
    penalty_points = models.PositiveIntegerField(_("penalty points"), default=0)
    registered_by_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["sub"], condition=Q(sub__isnull=False), name="booking_user_unique_sub"),
        )

    def __str__(self) -> str:
        return self.display_name or f"user {self.pk}"


class Group(models.Model):
    """A group of users with a representative; an approved group books at a reduced fee (減免)."""

    name = models.CharField(_("group name"), max_length=200)
    representative = models.ForeignKey(CityUser, on_delete=models.PROTECT, related_name="represented_groups")
    members = models.ManyToManyField(CityUser, related_name="member_of_groups", blank=True)
    reduction_approved = models.BooleanField(_("reduction approved"), default=False)
    reduction_percent = models.PositiveSmallIntegerField(_("reduction (%)"), default=0)
    invite_code = models.CharField(max_length=24, unique=True, default=new_invite_code)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (
            models.CheckConstraint(condition=Q(reduction_percent__lte=100), name="booking_group_reduction_le_100"),
        )

    def __str__(self) -> str:
        return self.name


class Facility(models.Model):
    class Kind(models.TextChoices):
        HALL = "hall", _("Hall")
        COURT = "court", _("Sports court")
        ROOM = "room", _("Meeting room")

    name_ja = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    capacity = models.PositiveIntegerField(default=0)
    resident_window_days = models.PositiveIntegerField(default=60)
    non_resident_window_days = models.PositiveIntegerField(default=30)
    lottery = models.BooleanField(default=False, help_text="popular facility: slots are drawn by lottery first")
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "facilities"
        constraints = (
            models.CheckConstraint(
                condition=Q(non_resident_window_days__lte=F("resident_window_days")),
                name="booking_facility_windows_ordered",
            ),
        )

    def __str__(self) -> str:  # in the page's language (selects in staff forms, the admin)
        return self.name(get_language())

    def name(self, language: str | None) -> str:
        return self.name_en if (language or "ja").startswith("en") else self.name_ja


class Slot(models.Model):
    """A bookable period of one facility. ``held_for_lottery``: only the lottery may give it out; releasing it
    (clearing the flag) opens it to first-come booking."""

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="slots")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    fee_yen = models.PositiveIntegerField()
    held_for_lottery = models.BooleanField(default=False)

    class Meta:
        ordering = (
            "starts_at",
            "facility_id",
        )
        indexes = (models.Index(fields=["facility", "starts_at"], name="booking_slot_fac_start"),)
        constraints = (
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="booking_slot_ends_after_start"),
            models.CheckConstraint(condition=Q(fee_yen__gte=0), name="booking_slot_fee_not_negative"),
        )

    def __str__(self) -> str:
        return f"{self.facility_id} {self.starts_at:%Y-%m-%d %H:%M}"


class Booking(models.Model):
    class Status(models.TextChoices):
        TENTATIVE = "tentative", _("Tentative (awaiting payment)")
        AWAITING_CONFIRMATION = "awaiting_confirmation", _("Lottery win (awaiting confirmation)")
        CONFIRMED = "confirmed", _("Confirmed (paid)")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired (not paid in time)")
        NO_SHOW = "no_show", _("No-show")
        USED = "used", _("Used")

    #: Statuses that hold the slot: at most one booking per slot may be in one of them.
    ACTIVE = (Status.TENTATIVE, Status.AWAITING_CONFIRMATION, Status.CONFIRMED)

    reference = models.CharField(max_length=20, unique=True, default=new_reference)
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    user = models.ForeignKey(CityUser, on_delete=models.PROTECT, related_name="bookings")
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.TENTATIVE)
    fee_yen = models.PositiveIntegerField()
    reduction_percent = models.PositiveSmallIntegerField(default=0)
    payment_deadline = models.DateTimeField(null=True, blank=True)
    booked_by_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    on_behalf = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = (
            models.UniqueConstraint(
                fields=["slot"],
                condition=Q(status__in=["tentative", "awaiting_confirmation", "confirmed"]),
                name="booking_one_active_per_slot",
            ),
            models.CheckConstraint(condition=Q(fee_yen__gte=0), name="booking_fee_not_negative"),
            models.CheckConstraint(condition=Q(reduction_percent__lte=100), name="booking_reduction_le_100"),
        )

    def __str__(self) -> str:
        return self.reference

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class Payment(models.Model):
    """One attempt to pay a booking through a payment provider."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        CAPTURED = "captured", _("Paid")
        DECLINED = "declined", _("Declined")
        REFUNDED = "refunded", _("Refunded")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")

    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=40)
    provider_ref = models.CharField(max_length=100)
    amount_yen = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    captured_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["provider", "provider_ref"], name="booking_payment_unique_ref"),
            models.UniqueConstraint(
                fields=["booking"], condition=Q(status="captured"), name="booking_payment_one_captured"
            ),
        )

    def __str__(self) -> str:
        return f"{self.provider}:{self.provider_ref}"


class Receipt(models.Model):
    """The receipt for a captured payment; ``number`` is printed on it (R<year>-<serial>)."""

    number = models.CharField(max_length=20, unique=True, null=True, blank=True)  # set once the row has its id
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="receipt")
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="receipts")
    amount_yen = models.PositiveIntegerField()
    payer_name = models.CharField(max_length=200, blank=True)
    issued_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.number or f"receipt {self.pk}"


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="refunds")
    amount_yen = models.PositiveIntegerField()
    percent = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=200, blank=True)
    provider_ref = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (models.CheckConstraint(condition=Q(percent__lte=100), name="booking_refund_percent_le_100"),)

    def __str__(self) -> str:
        return f"refund {self.amount_yen} yen"


class PenaltyRecord(models.Model):
    """Why a user's penalty points went up (late cancellation, no-show); the points themselves are on the user."""

    class Reason(models.TextChoices):
        LATE_CANCELLATION = "late_cancellation", _("Late cancellation")
        NO_SHOW = "no_show", _("No-show")

    user = models.ForeignKey(CityUser, on_delete=models.PROTECT, related_name="penalties")
    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.PROTECT, related_name="penalties")
    points = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.points} points ({self.reason})"


class Notice(models.Model):
    """A city notice on the resident home. ``audience``: everyone, residents only, or residents 65 or older."""

    class Audience(models.TextChoices):
        EVERYONE = "everyone", _("Everyone")
        RESIDENTS = "residents", _("Residents")
        OVER_65 = "over_65", _("Residents 65 or older")

    title_ja = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200)
    body_ja = models.TextField(blank=True)
    body_en = models.TextField(blank=True)
    audience = models.CharField(max_length=12, choices=Audience.choices, default=Audience.EVERYONE)
    published_at = models.DateTimeField()

    class Meta:
        ordering = ("-published_at",)

    def __str__(self) -> str:
        return self.title_en


class SimulatedCharge(models.Model):
    """The simulated payment provider's own ledger (``payments.SimulatedProvider``). A real provider keeps this
    on its side; the simulator keeps it in the city's database, apart from the city's ``Payment`` rows."""

    class Status(models.TextChoices):
        CREATED = "created"
        AUTHORIZED = "authorized"
        DECLINED = "declined"
        CAPTURED = "captured"
        CANCELLED = "cancelled"

    provider_ref = models.CharField(max_length=100, unique=True)
    amount_yen = models.PositiveIntegerField()
    refunded_yen = models.PositiveIntegerField(default=0)
    description = models.CharField(max_length=200)
    return_url = models.CharField(max_length=500)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CREATED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (
            models.CheckConstraint(condition=Q(refunded_yen__lte=F("amount_yen")), name="booking_simcharge_refund_le"),
        )

    def __str__(self) -> str:
        return self.provider_ref
