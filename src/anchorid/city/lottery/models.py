"""What the city stores for a lottery round. The draw's inputs and outputs are all here, so the published audit
document (``anchorid.city.lottery.audit``) can be rebuilt from the database at any time.

The seed is kept in ``seed_hex`` from the moment it is committed; pages show only its SHA-256 until the draw.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from anchorid.city.booking.models import Booking, CityUser, Slot

#: The most ranked choices a round may allow per entry (Theatre Fonte allows 8).
MOST_CHOICES = 8


def new_entry_id() -> str:
    """A public entry id: printed on the entry receipt and in the audit document; an HMAC input of the draw."""
    return "E" + secrets.token_hex(8).upper()


PHASE_LABELS = {
    "draft": _("Draft (seed not committed)"),
    "committed": _("Open for entries (seed committed)"),
    "closed": _("Entries closed, not drawn"),
    "drawn": _("Drawn, winners confirming"),
    "second_round": _("Second round (first come)"),
}


class LotteryRound(models.Model):
    title_ja = models.CharField(_("title (Japanese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    entries_open_at = models.DateTimeField(_("entries open"))
    entries_close_at = models.DateTimeField(_("entries close"))
    confirm_by = models.DateTimeField(_("winners confirm by"))
    max_choices = models.PositiveSmallIntegerField(_("ranked choices per entry"), default=3)
    max_entries_per_user = models.PositiveSmallIntegerField(_("entries per person"), default=2)
    max_wins_per_user = models.PositiveSmallIntegerField(_("wins per person"), default=1)
    penalty_block_points = models.PositiveSmallIntegerField(
        _("penalty points that bar entry"), default=3,
        help_text=_("Each penalty point takes away one entry; at this many points no entry is accepted."),
    )  # fmt: skip
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Commit: the seed and the SHA-256 published on the round page before entries close.
    seed_hex = models.CharField(max_length=64, blank=True)
    seed_commitment = models.CharField(max_length=64, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    # Close: the digest of the frozen entry list.
    closed_at = models.DateTimeField(null=True, blank=True)
    entries_digest = models.CharField(max_length=64, blank=True)
    # Draw: the result as computed (order and wins) and its digest; the seed is public from here on.
    drawn_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    result_digest = models.CharField(max_length=64, blank=True)
    # Release: unconfirmed wins expired, every free slot opened first-come (the second round).
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-entries_open_at",)
        constraints = (
            models.CheckConstraint(condition=Q(entries_close_at__gt=F("entries_open_at")),
                                   name="lottery_round_close_after_open"),
            models.CheckConstraint(condition=Q(confirm_by__gt=F("entries_close_at")),
                                   name="lottery_round_confirm_after_close"),
            models.CheckConstraint(condition=Q(max_choices__gte=1, max_choices__lte=MOST_CHOICES),
                                   name="lottery_round_choices_in_range"),
            models.CheckConstraint(condition=Q(max_entries_per_user__gte=1), name="lottery_round_entries_ge_1"),
            models.CheckConstraint(condition=Q(max_wins_per_user__gte=1), name="lottery_round_wins_ge_1"),
        )  # fmt: skip

    def __str__(self) -> str:  # in the page's language (the counter's round select, the admin)
        return self.title(get_language())

    @property
    def ref(self) -> str:
        """The round's name in the draw's HMAC message and the audit document."""
        return f"round-{self.pk}"

    def title(self, language: str | None) -> str:
        return self.title_en if (language or "ja").startswith("en") else self.title_ja

    @property
    def phase(self) -> str:
        if self.released_at:
            return "second_round"
        if self.drawn_at:
            return "drawn"
        if self.closed_at:
            return "closed"
        if self.committed_at:
            return "committed"
        return "draft"

    @property
    def phase_label(self) -> str:
        return str(PHASE_LABELS[self.phase])


class RoundSlot(models.Model):
    """A slot drawn in a round. A slot is in one round at most; while it is, ``Slot.held_for_lottery`` keeps it
    from first-come booking."""

    round = models.ForeignKey(LotteryRound, on_delete=models.CASCADE, related_name="round_slots")
    slot = models.OneToOneField(Slot, on_delete=models.PROTECT, related_name="lottery_slot")

    class Meta:
        ordering = ("slot__starts_at", "slot__facility_id")

    def __str__(self) -> str:
        return f"{self.round_id}/{self.slot_id}"


class Entry(models.Model):
    """One application: ranked choices of slots. ``participant`` is the pseudonym shared by one person's entries
    in this round (published, so the cap on wins can be re-checked without naming anyone)."""

    round = models.ForeignKey(LotteryRound, on_delete=models.PROTECT, related_name="entries")
    user = models.ForeignKey(CityUser, on_delete=models.PROTECT, related_name="lottery_entries")
    public_id = models.CharField(max_length=20, unique=True, default=new_entry_id)
    participant = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)
    entered_by_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    on_behalf = models.BooleanField(default=False)
    won_slot = models.ForeignKey(RoundSlot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    won_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    booking = models.OneToOneField(
        Booking, null=True, blank=True, on_delete=models.PROTECT, related_name="lottery_entry"
    )

    class Meta:
        ordering = ("created_at",)
        verbose_name_plural = "entries"

    def __str__(self) -> str:
        return self.public_id


class Choice(models.Model):
    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="choices")
    rank = models.PositiveSmallIntegerField()
    round_slot = models.ForeignKey(RoundSlot, on_delete=models.PROTECT, related_name="choices")

    class Meta:
        ordering = ("entry_id", "rank")
        constraints = (
            models.UniqueConstraint(fields=["entry", "rank"], name="lottery_choice_unique_rank"),
            models.UniqueConstraint(fields=["entry", "round_slot"], name="lottery_choice_unique_slot"),
            models.CheckConstraint(condition=Q(rank__gte=1, rank__lte=MOST_CHOICES), name="lottery_choice_rank"),
        )

    def __str__(self) -> str:
        return f"{self.entry_id} #{self.rank}"
