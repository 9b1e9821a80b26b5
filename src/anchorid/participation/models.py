"""The participation platform's tables.

Who someone is: a *participant key* — for a login with AnchorID, an HMAC of the pairwise ``sub`` under a key derived
from the platform's secret key (``identity.participant_key``); for an anonymous visitor, an HMAC of a random
pseudonym kept in their session. No name, no address, no ``sub`` is stored in any table here.

Ballot secrecy (docs/participation.md "Ballot secrecy"): ``VoterParticipation`` records that a participant voted in a
process (one row per participant and process: a unique constraint), and ``Ballot`` holds what was voted, under a
random id, with no column, foreign key or timestamp that names or orders the voter. The only bridge between them is
``Ballot.replace_tag``: an HMAC of the voter's ``sub`` under a key derived from the server's secret key (another
derivation than the voter key's, so no value repeats across the tables). Only a request carrying the voter's login
can compute it, so that the voter — and nobody holding the database alone — can replace their ballot before the vote
closes, in the same statement that casts it (``service.cast``).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

#: The phases of a process, in order (Decidim's steps, CONSUL's budget phases reduced to what a city runs).
PHASES = (
    ("ideas", "Ideas"),
    ("debate", "Debate"),
    ("vote", "Vote"),
    ("results", "Results"),
    ("followup", "Follow-up"),
)
#: Assurance of a participant, from most to least: verified resident (resident_of), logged in with AnchorID, anonymous.
ASSURANCES = (("resident", "Verified resident"), ("anchorid", "AnchorID"), ("anonymous", "Anonymous"))
VOTE_KINDS = (
    ("single", "Single choice"),
    ("multiple", "Multiple choice"),
    ("approval", "Approval voting (N of M)"),
    ("budget", "Participatory budgeting (knapsack)"),
    ("budget_approval", "Participatory budgeting (approval variant)"),
)


class Process(models.Model):
    """A participatory process: phases, what each phase allows, who may do what, and how much each counts."""

    slug = models.SlugField(max_length=60, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    phase = models.CharField(max_length=16, choices=PHASES, default="ideas")
    #: {phase: [action, ...]}: which actions each phase switches on (``permissions.DEFAULT_PHASE_ACTIONS``).
    phase_actions = models.JSONField(default=dict, blank=True)
    #: {action: {"level": "anonymous"|"anchorid"|"resident", "age": ""|"18"}} per action (``permissions.ACTIONS``).
    permissions = models.JSONField(default=dict, blank=True)
    #: {"resident": w, "anchorid": w, "anonymous": w}: weights of the weighted result, published before voting.
    weights = models.JSONField(default=dict, blank=True)
    #: Set when the vote phase first opens: from then on the weights and the vote's rules cannot change.
    voting_opened_at = models.DateTimeField(null=True, blank=True)
    municipality_code = models.CharField(max_length=6, default="142042")
    vote_kind = models.CharField(max_length=16, choices=VOTE_KINDS, default="budget")
    #: multiple/approval: at most this many choices; budget_approval: at most this many projects.
    max_choices = models.PositiveIntegerField(default=1)
    budget_total = models.PositiveBigIntegerField(default=0)
    #: The minimum-percentage rule: a budget basket must spend at least this share of the budget (Decidim: 70 %).
    budget_min_percent = models.PositiveSmallIntegerField(default=0)
    support_threshold = models.PositiveIntegerField(default=10)
    #: Published after the vote closed: the ballot document and its signature (``tally.publish``).
    published_document = models.JSONField(null=True, blank=True)
    published_signature = models.TextField(blank=True)
    #: The published result alone (the results page reads this, never the whole ballot document).
    published_result = models.JSONField(null=True, blank=True)
    #: Follow-up: the city's stop / continue decision with reasons.
    decision = models.CharField(max_length=10, choices=(("", "-"), ("continue", "Continue"), ("stop", "Stop")),
                                blank=True)  # fmt: skip
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    #: What cannot change once voting opened (the admin and every other path go through ``save``).
    FROZEN_FIELDS = ("weights", "vote_kind", "max_choices", "budget_total", "budget_min_percent", "municipality_code")
    #: Who may vote, and in which phase voting is open, cannot change either (the vote view checks them from a
    #: per-worker snapshot of the process, ``service.vote_snapshot``).
    FROZEN_KEYS = (("permissions", "vote"), ("phase_actions", "vote"))

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            stored = Process.objects.filter(pk=self.pk).values(*self.FROZEN_FIELDS, "voting_opened_at",
                                                               "permissions", "phase_actions").first()  # fmt: skip
            if stored and stored["voting_opened_at"] is not None:
                changed = [name for name in self.FROZEN_FIELDS if stored[name] != getattr(self, name)]
                changed += [f"{field}[{key}]" for field, key in self.FROZEN_KEYS
                            if (stored[field] or {}).get(key) != (getattr(self, field) or {}).get(key)]  # fmt: skip
                if changed:
                    raise ValueError(f"voting has opened: {', '.join(changed)} can no longer change")
        super().save(*args, **kwargs)


class Proposal(models.Model):
    STATUSES = (("open", "Open"), ("selected", "On the ballot"), ("withdrawn", "Withdrawn"),
                ("merged", "Merged"), ("rejected", "Not taken up"))  # fmt: skip
    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="proposals")
    title = models.CharField(max_length=150)
    body = models.TextField(max_length=4000)
    author_key = models.CharField(max_length=64, db_index=True)
    author_assurance = models.CharField(max_length=10, choices=ASSURANCES)
    author_label = models.CharField(max_length=40)  # "匿名-1a2b" or "AnchorID利用者-3c4d": never a name
    status = models.CharField(max_length=10, choices=STATUSES, default="open")
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    cost = models.PositiveBigIntegerField(default=0)  # participatory budgeting: the project's price
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    hidden = models.BooleanField(default=False)
    hidden_reason = models.CharField(max_length=300, blank=True)
    #: Accountability: the state of a winning idea and its progress (0–100).
    progress_status = models.CharField(max_length=200, blank=True)
    progress_percent = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return self.title


class Support(models.Model):
    """One support per participant and proposal (the database decides); its assurance for the split counts."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="supports")
    participant_key = models.CharField(max_length=64)
    assurance = models.CharField(max_length=10, choices=ASSURANCES)

    class Meta:
        constraints = (models.UniqueConstraint(fields=["proposal", "participant_key"], name="one_support_each"),)

    def __str__(self) -> str:
        return f"support of proposal {self.proposal_id}"


class Debate(models.Model):
    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="debates")
    title = models.CharField(max_length=150)
    body = models.TextField(max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title


class Comment(models.Model):
    """A threaded comment on a proposal or a debate (exactly one of them)."""

    proposal = models.ForeignKey(Proposal, null=True, blank=True, on_delete=models.CASCADE, related_name="comments")
    debate = models.ForeignKey(Debate, null=True, blank=True, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    body = models.TextField(max_length=2000)
    author_key = models.CharField(max_length=64, db_index=True)
    author_assurance = models.CharField(max_length=10, choices=ASSURANCES)
    author_label = models.CharField(max_length=40)
    up = models.PositiveIntegerField(default=0)
    down = models.PositiveIntegerField(default=0)
    hidden = models.BooleanField(default=False)
    hidden_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)
        constraints = (
            models.CheckConstraint(
                condition=Q(proposal__isnull=False, debate__isnull=True)
                | Q(proposal__isnull=True, debate__isnull=False),
                name="comment_on_one_thing",
            ),
        )

    def __str__(self) -> str:
        return f"comment {self.pk}"


class CommentVote(models.Model):
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="votes")
    participant_key = models.CharField(max_length=64)
    value = models.SmallIntegerField()  # +1 or -1

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["comment", "participant_key"], name="one_comment_vote_each"),
            models.CheckConstraint(condition=Q(value__in=[1, -1]), name="comment_vote_up_or_down"),
        )

    def __str__(self) -> str:
        return f"comment vote {self.pk}"


class VoterParticipation(models.Model):
    """That a participant voted in a process — nothing about what. No timestamp (see the module docstring)."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="+")
    voter_key = models.CharField(max_length=64)

    class Meta:
        constraints = (models.UniqueConstraint(fields=["process", "voter_key"], name="one_ballot_per_voter"),)

    def __str__(self) -> str:
        return f"participation in process {self.process_id}"


class Ballot(models.Model):
    """What was voted: a random id (the voter's receipt), the assurance it counts under, the choices (option ids).
    No voter, no time, no sequence: the primary key is the random id. ``replace_tag`` (``Participant.replace_tag``)
    is unique per process: a second vote of the same person replaces this row (a new ballot id, new choices), so the
    database keeps one ballot per person even if the voter table were bypassed. Never published."""

    ballot_id = models.CharField(max_length=32, primary_key=True)
    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="+")
    #: Null only on ballots cast before the tag existed (migration 0002 refuses while such a vote is open).
    replace_tag = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 (NULLs stay out of the unique)
    assurance = models.CharField(max_length=10, choices=ASSURANCES)
    choices = models.JSONField()

    class Meta:
        constraints = (models.UniqueConstraint(fields=["process", "replace_tag"], name="one_ballot_per_tag"),)

    def __str__(self) -> str:
        return f"ballot {self.ballot_id}"


class Report(models.Model):
    """A participant's report of a proposal or comment; moderators resolve it."""

    proposal = models.ForeignKey(Proposal, null=True, blank=True, on_delete=models.CASCADE)
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.CASCADE)
    reason = models.CharField(max_length=300)
    reporter_key = models.CharField(max_length=64)
    resolved = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"report {self.pk}"


class ModerationAction(models.Model):
    """The audit trail of moderation and staff decisions: who (staff username), what, why, when. Append-only."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="moderation_actions")
    moderator = models.CharField(max_length=150)
    action = models.CharField(max_length=40)
    target = models.CharField(max_length=60)
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.action} {self.target}"


class Moderator(models.Model):
    """Moderators per process (Django staff users named here may moderate that process)."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="moderators")
    username = models.CharField(max_length=150)

    class Meta:
        constraints = (models.UniqueConstraint(fields=["process", "username"], name="one_moderator_row"),)

    def __str__(self) -> str:
        return self.username


class Follow(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="followers")
    participant_key = models.CharField(max_length=64)

    class Meta:
        constraints = (models.UniqueConstraint(fields=["proposal", "participant_key"], name="one_follow_each"),)

    def __str__(self) -> str:
        return f"follow {self.pk}"


class Notification(models.Model):
    """In-app notifications to authors and followers (by participant key; shown on their next visit)."""

    participant_key = models.CharField(max_length=64, db_index=True)
    text = models.CharField(max_length=300)
    link = models.CharField(max_length=200)
    read = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-id",)

    def __str__(self) -> str:
        return f"notification {self.pk}"


class Survey(models.Model):
    """A survey of a process (Decidim's survey component): questions answered once per person — per pairwise
    ``sub`` for a login, per pseudonymous session for an anonymous visitor, as the process's ``survey`` permission
    allows — with aggregated results and moderated free text (``surveys``)."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="surveys")
    title = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return self.title


class SurveyQuestion(models.Model):
    KINDS = (("single", "Single choice"), ("multiple", "Multiple choice"), ("text", "Free text"))
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=KINDS, default="single")
    text = models.CharField(max_length=300)
    #: The choices' labels (single and multiple choice); answers store their indexes.
    options = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=True)

    class Meta:
        ordering = ("position", "id")

    def __str__(self) -> str:
        return self.text

    def clean(self) -> None:
        """A choice question has 2 to 20 labelled choices; a free-text question none (the admin form calls this)."""
        from django.core.exceptions import ValidationError

        options = self.options
        if self.kind == "text":
            if options:
                raise ValidationError({"options": "A free-text question has no choices."})
            return
        if (not isinstance(options, list) or not 2 <= len(options) <= 20
                or not all(isinstance(o, str) and 0 < len(o.strip()) <= 150 for o in options)):  # fmt: skip
            raise ValidationError({"options": 'Give 2 to 20 choices as a JSON list of texts, e.g. ["Yes", "No"].'})


class SurveyResponse(models.Model):
    """That someone answered a survey: one row per respondent key (an HMAC per survey, ``surveys.respondent_key``)."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    respondent_key = models.CharField(max_length=64)
    assurance = models.CharField(max_length=10, choices=ASSURANCES)

    class Meta:
        constraints = (models.UniqueConstraint(fields=["survey", "respondent_key"], name="one_response_each"),)

    def __str__(self) -> str:
        return f"response {self.pk}"


class SurveyAnswer(models.Model):
    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(SurveyQuestion, on_delete=models.CASCADE, related_name="answers")
    choices = models.JSONField(default=list, blank=True)
    text = models.TextField(max_length=2000, blank=True)
    hidden = models.BooleanField(default=False)
    hidden_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ("id",)
        constraints = (models.UniqueConstraint(fields=["response", "question"], name="one_answer_per_question"),)

    def __str__(self) -> str:
        return f"answer {self.pk}"


class EmailAddress(models.Model):
    """An e-mail address a participant chose to give for notifications (opt-in, never required), by participant key.
    Used only once verified (the link sent to it was opened); the verification token is stored hashed. Never
    exported, never shown to anyone but its owner."""

    participant_key = models.CharField(max_length=64, unique=True)
    address = models.EmailField(max_length=254)
    token_hash = models.CharField(max_length=64, blank=True)
    token_expires = models.DateTimeField(null=True, blank=True)
    verified = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"e-mail address {self.pk}"


class Meeting(models.Model):
    """An in-person meeting of a process (Decidim's meetings): when, where, how many seats; registration once per
    person; the minutes published afterwards (set up and minutes in the admin)."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="meetings")
    title = models.CharField(max_length=150)
    starts_at = models.DateTimeField()
    place = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    #: Seats; 0: no limit.
    capacity = models.PositiveIntegerField(default=0)
    minutes = models.TextField(blank=True)

    class Meta:
        ordering = ("starts_at", "id")

    def __str__(self) -> str:
        return self.title


class MeetingRegistration(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="registrations")
    participant_key = models.CharField(max_length=64)
    assurance = models.CharField(max_length=10, choices=ASSURANCES)

    class Meta:
        constraints = (models.UniqueConstraint(fields=["meeting", "participant_key"], name="one_seat_each"),)

    def __str__(self) -> str:
        return f"registration {self.pk}"
