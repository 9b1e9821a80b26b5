"""Forms of the staff pages. Each says what is wrong in words a clerk understands; the database constraints
behind them (no overlapping slots, no negative fees) stay the final word."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from anchorid.city.booking.models import Booking, Facility, Group, Slot
from anchorid.city.lottery.models import MOST_CHOICES, LotteryRound
from anchorid.city.staff.models import CounterRegistration
from anchorid.common.password_lockout import LockoutMixin

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class StaffLoginForm(LockoutMixin, AuthenticationForm):
    """Wrong passwords lock the staff ID and the address out for a while (``password_lockout``)."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise forms.ValidationError(_("This account is not a city staff account."), code="not_staff")


class FacilityForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Facility
        fields = ("name_ja", "name_en", "kind", "capacity", "resident_window_days", "non_resident_window_days",
                  "lottery", "is_active")  # fmt: skip
        labels: ClassVar[dict[str, Any]] = {
            "name_ja": _("Name (Japanese)"),
            "name_en": _("Name (English)"),
            "kind": _("Kind"),
            "capacity": _("Capacity (people)"),
            "resident_window_days": _("Residents may book this many days ahead"),
            "non_resident_window_days": _("Others may book this many days ahead"),
            "lottery": _("Popular: slots are given out by lottery first"),
            "is_active": _("Open for booking"),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        resident, other = data.get("resident_window_days"), data.get("non_resident_window_days")
        if resident is not None and other is not None and other > resident:
            raise forms.ValidationError(_("Residents must be able to book at least as far ahead as others."))
        return data


class SlotFeeForm(forms.Form):
    # No min_value: a negative number gets the sentence below instead of the browser's or Django's generic one.
    fee_yen = forms.IntegerField(label=_("Fee (yen)"))

    def clean_fee_yen(self) -> int:
        fee: int = self.cleaned_data["fee_yen"]
        if fee < 0:
            raise forms.ValidationError(_("A fee cannot be negative."))
        return fee


class SlotForm(SlotFeeForm):
    """A new slot: its times and its fee (the fee checked as :class:`SlotFeeForm` checks it)."""

    starts_at = forms.DateTimeField(label=_("Starts"), widget=DATETIME_INPUT)
    ends_at = forms.DateTimeField(label=_("Ends"), widget=DATETIME_INPUT)
    field_order = ("starts_at", "ends_at", "fee_yen")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if isinstance(starts, dt.datetime) and isinstance(ends, dt.datetime) and ends <= starts:
            raise forms.ValidationError(_("A slot must end after it starts."))
        return data


class GroupReductionForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Group
        fields = ("reduction_approved", "reduction_percent")
        labels: ClassVar[dict[str, Any]] = {
            "reduction_approved": _("Reduction approved"),
            "reduction_percent": _("Reduction (%)"),
        }

    def clean_reduction_percent(self) -> int:
        percent: int = self.cleaned_data["reduction_percent"]
        if not 0 <= percent <= 100:
            raise forms.ValidationError(_("A reduction is between 0 and 100 percent."))
        return percent


class RoundForm(forms.ModelForm):  # type: ignore[type-arg]
    slots = forms.ModelMultipleChoiceField(
        label=_("Slots drawn in this round"), queryset=Slot.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = LotteryRound
        fields = ("title_ja", "title_en", "entries_open_at", "entries_close_at", "confirm_by", "max_choices",
                  "max_entries_per_user", "max_wins_per_user", "penalty_block_points")  # fmt: skip
        widgets: ClassVar[dict[str, Any]] = {
            "entries_open_at": DATETIME_INPUT,
            "entries_close_at": DATETIME_INPUT,
            "confirm_by": DATETIME_INPUT,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slots"].queryset = (  # type: ignore[attr-defined]
            Slot.objects.filter(facility__lottery=True, facility__is_active=True, lottery_slot__isnull=True)
            .exclude(bookings__status__in=Booking.ACTIVE)
            .select_related("facility")
            .order_by("starts_at")
        )
        self.fields["slots"].label_from_instance = lambda slot: (  # type: ignore[attr-defined]
            f"{slot.facility.name_ja} {slot.starts_at:%Y-%m-%d %H:%M} (#{slot.pk})"
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        opens, closes, confirm = data.get("entries_open_at"), data.get("entries_close_at"), data.get("confirm_by")
        if opens and closes and closes <= opens:
            self.add_error(None, _("Entries must close after they open."))
        if closes and confirm and confirm <= closes:
            self.add_error(None, _("The confirmation deadline must come after entries close."))
        choices = data.get("max_choices")
        if choices is not None and not 1 <= choices <= MOST_CHOICES:
            self.add_error("max_choices", _("Between 1 and %(most)d choices.") % {"most": MOST_CHOICES})
        for name in ("max_entries_per_user", "max_wins_per_user"):
            if data.get(name) == 0:
                self.add_error(name, _("At least 1."))
        slots = data.get("slots") or []
        if confirm and any(slot.starts_at <= confirm for slot in slots):
            self.add_error("slots", _("Every slot must start after the confirmation deadline."))
        return data


class BookingSearchForm(forms.Form):
    q = forms.CharField(label=_("Reference or name"), required=False, max_length=100)
    facility = forms.ModelChoiceField(label=_("Facility"), queryset=Facility.objects.all(), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any")), *Booking.Status.choices])  # fmt: skip
    date_from = forms.DateField(label=_("From"), required=False, widget=DATE_INPUT)
    date_to = forms.DateField(label=_("To"), required=False, widget=DATE_INPUT)


class ReportForm(forms.Form):
    date_from = forms.DateField(label=_("From"), widget=DATE_INPUT)
    date_to = forms.DateField(label=_("To"), widget=DATE_INPUT)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            raise forms.ValidationError(_("The period must end on or after its first day."))
        return data


class RegisterResidentForm(forms.Form):
    display_name = forms.CharField(label=_("Resident's name"), max_length=200)
    is_resident = forms.BooleanField(label=_("Lives in the city (checked on the document)"), required=False,
                                     initial=True)  # fmt: skip
    document = forms.ChoiceField(label=_("Identity document checked"), choices=CounterRegistration.Document.choices)
    note = forms.CharField(label=_("Note (what was checked; never a document number)"), max_length=200,
                           required=False)  # fmt: skip


class OnBehalfBookingForm(forms.Form):
    slot = forms.IntegerField(label=_("Slot number"), min_value=1)


class OnBehalfEntryForm(forms.Form):
    round = forms.ModelChoiceField(label=_("Lottery round"), queryset=LotteryRound.objects.filter(
        committed_at__isnull=False, closed_at__isnull=True))  # fmt: skip
    choices = forms.CharField(label=_("Slot numbers in order of preference, separated by commas"), max_length=200)

    def clean_choices(self) -> list[str]:
        return [part.strip() for part in self.cleaned_data["choices"].split(",") if part.strip()]
