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
