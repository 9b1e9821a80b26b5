"""The counter's records: who was registered at the counter and how their identity was checked (what was checked,
never the document's number or a copy), every action staff did on a resident's behalf, and the one-time link codes
that attach a counter registration to the resident's AnchorID login later.

``StaffArea`` holds no rows: it only carries the permissions the staff pages check (one per area).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from anchorid.city.booking.models import Booking, CityUser


class StaffArea(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = (
            ("facilities", "Manage facilities, slots and fees"),
            ("lottery", "Run lottery rounds"),
            ("bookings", "Search bookings, mark no-show or used"),
            ("reports", "View reports and export CSV"),
            ("counter", "Register and book on behalf of residents at the counter"),
            ("counter_payment", "Take payments and pay out refunds at the counter"),
        )

    def __str__(self) -> str:
        return "staff area"


class CounterRegistration(models.Model):
    """A resident registered at the counter. The clerk records which document they looked at, not its number."""

    class Document(models.TextChoices):
        MY_NUMBER_CARD = "my_number_card", _("My Number Card (face photo checked)")
        DRIVERS_LICENCE = "drivers_licence", _("Driver's licence")
        PASSPORT = "passport", _("Passport")
        RESIDENCE_CARD = "residence_card", _("Residence card")
        HEALTH_INSURANCE = "health_insurance", _("Health insurance certificate plus a second document")
        OTHER = "other", _("Other (described in the note)")

    user = models.OneToOneField(CityUser, on_delete=models.PROTECT, related_name="counter_registration")
    document = models.CharField(_("identity document checked"), max_length=20, choices=Document.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    checked_at = models.DateTimeField(auto_now_add=True)
    linked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"counter registration {self.pk}"


class ProxyAction(models.Model):
    """Something staff did for a resident: shown to the resident on their home page once they log in."""

    class Kind(models.TextChoices):
        REGISTERED = "registered", _("Registered at the counter")
        BOOKED = "booked", _("Booked a slot")
        CANCELLED = "cancelled", _("Cancelled a booking")
        LOTTERY_ENTRY = "lottery_entry", _("Entered a lottery")
        LOTTERY_CONFIRMED = "lottery_confirmed", _("Confirmed a lottery win")
        LINK_CODE = "link_code", _("Issued a link code")
        PAID = "paid", _("Paid at the counter")
        REFUND_PAID_OUT = "refund_paid_out", _("Refund paid out at the counter")

    user = models.ForeignKey(CityUser, on_delete=models.PROTECT, related_name="proxy_actions")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    detail = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-at", "-pk")

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}"


class LinkCode(models.Model):
    """A one-time code printed at the counter. Only its SHA-256 is stored; it expires, and it is used once."""

    user = models.ForeignKey(CityUser, on_delete=models.PROTECT, related_name="link_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by_sub = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=["user"], condition=Q(used_at__isnull=True), name="staff_one_open_link_code"
            ),
        )

    def __str__(self) -> str:
        return f"link code {self.pk}"


class CounterCharge(models.Model):
    """The counter payment provider's ledger (``counter_payment.CounterProvider``): one row per payment taken in
    cash or by card at the counter, with who received it and when. ``idempotency_key`` comes from the payment form
    shown to the clerk, so a form sent twice records one payment."""

    class Method(models.TextChoices):
        CASH = "cash", _("Cash")
        CARD = "card", _("Card (terminal at the counter)")

    class Status(models.TextChoices):
        CREATED = "created"
        RECEIVED = "received"
        CAPTURED = "captured"
        CANCELLED = "cancelled"

    provider_ref = models.CharField(max_length=100, unique=True)
    order_ref = models.CharField(max_length=20)
    amount_yen = models.PositiveIntegerField()
    refunded_yen = models.PositiveIntegerField(default=0)
    description = models.CharField(max_length=200)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CREATED)
    method = models.CharField(max_length=8, choices=Method.choices, blank=True)
    idempotency_key = models.CharField(max_length=64, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=["idempotency_key"], condition=~Q(idempotency_key=""), name="staff_counter_charge_unique_key"
            ),
            models.CheckConstraint(
                condition=Q(refunded_yen__lte=models.F("amount_yen")), name="staff_counter_charge_refund_le"
            ),
        )

    def __str__(self) -> str:
        return self.provider_ref


class CounterPayout(models.Model):
    """A refund of a counter payment: recorded when the booking is cancelled, handed over in cash at the counter
    later (``paid_out_at``, ``paid_out_by``)."""

    charge = models.ForeignKey(CounterCharge, on_delete=models.PROTECT, related_name="payouts")
    payout_ref = models.CharField(max_length=120, unique=True)
    amount_yen = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    paid_out_at = models.DateTimeField(null=True, blank=True)
    paid_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = (models.CheckConstraint(condition=Q(amount_yen__gt=0), name="staff_counter_payout_positive"),)

    def __str__(self) -> str:
        return self.payout_ref
