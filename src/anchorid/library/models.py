"""The e-library's records: patrons, the circulation rules matrix, titles, licences, loans, holds, notices and
reading positions.

A patron is known by the pairwise ``sub`` of the library's own sector and the category its verified claims (or a
staff grant) gave; nothing else about the person is kept. Licences are per copy as vendors sell them; a loan of a
licence that serves one reader at a time is ``exclusive``, and the database lets one such licence have at most one
active loan (a partial unique index), whatever the application does.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    COMMUTER = "commuter", _("Works or studies in the city")


class CirculationRule(models.Model):
    """One row of the rules matrix (as Koha's issuing rules): per patron category."""

    category = models.CharField(max_length=16, choices=Category.choices, unique=True)
    max_loans = models.PositiveSmallIntegerField(default=2)
    loan_days = models.PositiveSmallIntegerField(default=14)
    max_holds = models.PositiveSmallIntegerField(default=2)
    renewals = models.PositiveSmallIntegerField(default=1, help_text="renewals per loan, when nobody holds the title")
    pickup_days = models.PositiveSmallIntegerField(default=7, help_text="days a ready hold is kept")

    def __str__(self) -> str:
        return f"rule for {self.category}"


class Patron(models.Model):
    sub = models.CharField(max_length=255, unique=True, help_text="pairwise sub at the library's sector")
    card_number = models.CharField(max_length=12, unique=True)
    category = models.CharField(max_length=16, choices=Category.choices)
    physical_card = models.CharField(max_length=20, blank=True, default="")
    email = models.EmailField(blank=True, default="", help_text="optional, given by the patron for notices")
    registered_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"patron {self.card_number}"


class CategoryGrant(models.Model):
    """A category the city allows besides residence (e.g. commuters), registered by staff: a one-time code the
    person enters after logging in with AnchorID. Only the code's hash is kept."""

    code_hash = models.CharField(max_length=64, unique=True)
    category = models.CharField(max_length=16, choices=Category.choices)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"grant {self.pk} for {self.category}"


class CardLinkCode(models.Model):
    """A one-time code from the counter that links an existing physical library card to a patron."""

    code_hash = models.CharField(max_length=64, unique=True)
    card_number = models.CharField(max_length=20)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"card link code {self.pk}"


class Title(models.Model):
    class Format(models.TextChoices):
        REFLOWABLE = "epub-reflowable", _("EPUB 3 (reflowable)")
        FIXED = "epub-fixed", _("EPUB 3 (fixed layout)")

    title = models.CharField(max_length=300)
    title_yomi = models.CharField(max_length=300, blank=True, default="", help_text="the reading, in kana")
    authors = models.CharField(max_length=300, blank=True, default="")
    authors_yomi = models.CharField(max_length=300, blank=True, default="")
    publisher = models.CharField(max_length=200, blank=True, default="")
    isbn = models.CharField(max_length=13, blank=True, default="", db_index=True)
    ndc = models.CharField(max_length=8, blank=True, default="", db_index=True, help_text="NDC class, e.g. 913.6")
    language = models.CharField(max_length=8, default="ja")
    subjects = models.CharField(max_length=300, blank=True, default="")
    description = models.TextField(blank=True, default="")
    format = models.CharField(max_length=20, choices=Format.choices, default=Format.REFLOWABLE)
    vertical = models.BooleanField(default=False, help_text="縦書き, right-to-left page progression")
    epub_file = models.CharField(max_length=80, blank=True, default="", help_text="file name under the books folder")
    added_at = models.DateTimeField(default=timezone.now, db_index=True)
    #: Normalised text of title, readings, authors and subjects: what search matches (catalogue.search_text).
    search_text = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return self.title


class Licence(models.Model):
    class Model(models.TextChoices):
        ONE_COPY = "one-copy", _("One copy, one user (2 years or 52 loans)")
        METERED = "metered", _("Metered access (N loans or T months)")
        SIMULTANEOUS = "simultaneous", _("Simultaneous use")
        PAY_PER_USE = "pay-per-use", _("Pay per use")

    title = models.ForeignKey(Title, on_delete=models.PROTECT, related_name="licences")
    model = models.CharField(max_length=16, choices=Model.choices)
    cost_yen = models.PositiveIntegerField(default=0, help_text="purchase price; per loan for pay-per-use")
    max_loans = models.PositiveIntegerField(null=True, blank=True, help_text="loans allowed; none = no limit")
    loans_used = models.PositiveIntegerField(default=0)
    starts_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True, help_text="left the shelf: on the repurchase list")
    retired_reason = models.CharField(max_length=16, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.model} licence of title {self.title_id}"

    @property
    def exclusive(self) -> bool:
        """One reader at a time (one-copy and metered); simultaneous and pay-per-use never block."""
        return self.model in (self.Model.ONE_COPY, self.Model.METERED)


class Budget(models.Model):
    """The pay-per-use budget (one row): each pay-per-use loan draws its price from it."""

    remaining_yen = models.BigIntegerField(default=0)
    spent_yen = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"budget {self.remaining_yen} yen left"


class Loan(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("On loan")
        RETURNED = "returned", _("Returned")
        ENDED = "ended", _("Ended at its due time")

    patron = models.ForeignKey(Patron, on_delete=models.PROTECT, related_name="loans")
    title = models.ForeignKey(Title, on_delete=models.PROTECT, related_name="loans")
    licence = models.ForeignKey(Licence, on_delete=models.PROTECT, related_name="loans")
    exclusive = models.BooleanField()
    category = models.CharField(max_length=16, choices=Category.choices, help_text="at the time of the loan (stats)")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    started_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    renewals = models.PositiveSmallIntegerField(default=0)
    cost_yen = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["licence"], condition=Q(status="active", exclusive=True), name="library_one_reader_per_copy"
            ),
            models.UniqueConstraint(
                fields=["patron", "title"], condition=Q(status="active"), name="library_one_loan_per_title"
            ),
        ]

    def __str__(self) -> str:
        return f"loan {self.pk}"

    def is_readable(self, now: object = None) -> bool:
        moment = now or timezone.now()
        return self.status == self.Status.ACTIVE and self.due_at > moment  # type: ignore[operator]


class Hold(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        READY = "ready", _("Ready to borrow")
        FULFILLED = "fulfilled", _("Borrowed")
        EXPIRED = "expired", _("Not collected in time")
        CANCELLED = "cancelled", _("Cancelled")

    patron = models.ForeignKey(Patron, on_delete=models.PROTECT, related_name="holds")
    title = models.ForeignKey(Title, on_delete=models.PROTECT, related_name="holds")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    placed_at = models.DateTimeField(default=timezone.now)
    ready_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["patron", "title"],
                condition=Q(status__in=["waiting", "ready"]),
                name="library_one_open_hold_per_title",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["title", "status", "placed_at"])]

    def __str__(self) -> str:
        return f"hold {self.pk}"


class Notice(models.Model):
    """An in-app notice (also e-mailed when the patron gave an address); its text is rendered in the reader's
    language from ``kind``."""

    class Kind(models.TextChoices):
        HOLD_READY = "hold-ready", _("Your hold is ready to borrow")
        HOLD_EXPIRED = "hold-expired", _("Your hold was not collected in time")
        LOAN_ENDED = "loan-ended", _("Your loan has ended")

    patron = models.ForeignKey(Patron, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.ForeignKey(Title, on_delete=models.CASCADE)
    until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"notice {self.pk}"


class ReadingState(models.Model):
    """Where a patron is in a title (a CFI), synced across devices, and the patron's bookmarks."""

    patron = models.ForeignKey(Patron, on_delete=models.CASCADE, related_name="reading")
    title = models.ForeignKey(Title, on_delete=models.CASCADE)
    position = models.CharField(max_length=500, blank=True, default="")
    bookmarks = models.JSONField(default=list)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["patron", "title"], name="library_one_reading_state")
        ]

    def __str__(self) -> str:
        return f"reading state {self.pk}"
