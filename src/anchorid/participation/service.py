"""What the pages do, as plain functions (views stay thin; tests call these too). Every write checks the phase and
the permission inside the function, and writes nothing when either says no."""

from __future__ import annotations

import csv
import io
import json
import secrets
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from joserfc.jwk import ECKey

from anchorid.common.rp.setup import write_atomically
from anchorid.participation import city_map, permissions, tally
from anchorid.participation.identity import Participant
from anchorid.participation.models import (
    Ballot,
    Comment,
    CommentVote,
    Debate,
    Follow,
    ModerationAction,
    Notification,
    Process,
    Proposal,
    Report,
    Support,
    VoterParticipation,
)

TALLY_KEY_FILE = Path("keys") / "tally.jwk.json"
TITLE_MAX, BODY_MAX, COMMENT_MAX, REASON_MAX = 150, 4000, 2000, 300


class Invalid(ValueError):
    """Input the platform does not accept; the message is for people."""


class Frozen(Invalid):
    """The process's published rules (weights, vote kind, options) are frozen once voting opened."""


def _text(value: str, limit: int, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid(_("%(what)s is empty.") % {"what": what})
    if len(value) > limit or "\x00" in value:
        raise Invalid(_("%(what)s is longer than %(limit)d characters.") % {"what": what, "limit": limit})
    return value


def notify(keys: set[str], text: str, link: str, *, skip: str = "") -> None:
    """In-app, and by e-mail to those who gave and verified an address (``email_notices``)."""
    from anchorid.participation import email_notices

    keys = {key for key in keys if key != skip}
    Notification.objects.bulk_create(
        [Notification(participant_key=key, text=text[:300], link=link) for key in sorted(keys)]
    )
    email_notices.send(keys, text, link)


# -- proposals, supports, comments, debates -------------------------------------------------------------------


def _location(raw: tuple[str, str]) -> tuple[Decimal | None, Decimal | None]:
    """An optional place: both coordinates or neither, decimal degrees within the city (``city_map``)."""
    latitude, longitude = (value.strip() for value in raw)
    if not latitude and not longitude:
        return None, None
    try:
        point = Decimal(latitude).quantize(Decimal("0.000001")), Decimal(longitude).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError):
        raise Invalid(
            _("The place is given as latitude and longitude in degrees, e.g. 35.3190 and 139.5504.")
        ) from None
    if not point[0].is_finite() or not point[1].is_finite() or not city_map.within(*point):
        raise Invalid(_("The place is outside the city."))
    return point


def propose(process: Process, participant: Participant, title: str, body: str, *, cost: int = 0,
            location: tuple[str, str] = ("", "")) -> Proposal:  # fmt: skip
    permissions.check(process, "propose", participant)
    latitude, longitude = _location(location)
    proposal = Proposal.objects.create(
        process=process, title=_text(title, TITLE_MAX, _("The title")), body=_text(body, BODY_MAX, _("The text")),
        author_key=participant.key, author_assurance=participant.assurance(process.municipality_code),
        author_label=participant.label, cost=max(0, int(cost)), latitude=latitude, longitude=longitude,
    )  # fmt: skip
    Follow.objects.create(proposal=proposal, participant_key=participant.key)
    return proposal


def edit(proposal: Proposal, participant: Participant, title: str, body: str) -> None:
    """The author edits an open proposal until someone supports it (as Decidim): a support was given to this text."""
    if proposal.author_key != participant.key or proposal.status != "open":
        raise Invalid(_("Only the author may edit an open proposal."))
    permissions.check(proposal.process, "propose", participant)
    title, body = _text(title, TITLE_MAX, _("The title")), _text(body, BODY_MAX, _("The text"))
    with transaction.atomic():
        if Support.objects.filter(proposal=proposal).exists():
            raise Invalid(_("This proposal has supports: it can no longer be edited."))
        proposal.title, proposal.body = title, body
        proposal.save(update_fields=["title", "body", "updated_at"])


def withdraw(proposal: Proposal, participant: Participant) -> None:
    if proposal.author_key != participant.key or proposal.status not in ("open",):
        raise Invalid(_("Only the author may withdraw an open proposal."))
    proposal.status = "withdrawn"
    proposal.save(update_fields=["status", "updated_at"])


def support(proposal: Proposal, participant: Participant) -> bool:
    """Support once (False when already supported). The author is told when the threshold is reached."""
    permissions.check(proposal.process, "support", participant)
    if proposal.status != "open" or proposal.hidden:
        raise Invalid(_("This proposal can no longer be supported."))
    try:
        with transaction.atomic():
            Support.objects.create(proposal=proposal, participant_key=participant.key,
                                   assurance=participant.assurance(proposal.process.municipality_code))  # fmt: skip
    except IntegrityError:
        return False
    if proposal.supports.count() == proposal.process.support_threshold:
        notify({proposal.author_key}, _("Your proposal reached its support threshold: %(t)s") % {"t": proposal.title},
               f"/proposals/{proposal.pk}/")  # fmt: skip
    return True


def supports_by_assurance(proposal: Proposal) -> dict[str, int]:
    counts = dict.fromkeys(tally.ASSURANCE_ORDER, 0)
    for row in proposal.supports.values("assurance").annotate(n=Count("id")):
        counts[row["assurance"]] = row["n"]
    return counts


def comment(participant: Participant, body: str, *, proposal: Proposal | None = None, debate: Debate | None = None,
            parent: Comment | None = None) -> Comment:  # fmt: skip
    process = proposal.process if proposal else debate.process  # type: ignore[union-attr]
    permissions.check(process, "comment", participant)
    if parent is not None and (parent.proposal_id != (proposal.pk if proposal else None)
                               or parent.debate_id != (debate.pk if debate else None)):  # fmt: skip
        raise Invalid(_("The comment you reply to is not on this page."))
    made = Comment.objects.create(
        proposal=proposal, debate=debate, parent=parent, body=_text(body, COMMENT_MAX, _("The comment")),
        author_key=participant.key, author_assurance=participant.assurance(process.municipality_code),
        author_label=participant.label,
    )  # fmt: skip
    if proposal is not None:
        keys = set(proposal.followers.values_list("participant_key", flat=True)) | {proposal.author_key}
        notify(keys, _("New comment on: %(t)s") % {"t": proposal.title}, f"/proposals/{proposal.pk}/",
               skip=participant.key)  # fmt: skip
    return made


def vote_comment(comment_: Comment, participant: Participant, value: int) -> None:
    process = comment_.proposal.process if comment_.proposal else comment_.debate.process  # type: ignore[union-attr]
    permissions.check(process, "comment", participant)
    if value not in (1, -1):
        raise Invalid(_("A comment vote is up or down."))
    with transaction.atomic():
        previous = CommentVote.objects.select_for_update().filter(comment=comment_,
                                                                  participant_key=participant.key).first()  # fmt: skip
        if previous is not None and previous.value == value:
            return
        if previous is not None:
            CommentVote.objects.filter(pk=previous.pk).update(value=value)
            old = "up" if previous.value == 1 else "down"
            Comment.objects.filter(pk=comment_.pk).update(**{old: F(old) - 1})
        else:
            CommentVote.objects.create(comment=comment_, participant_key=participant.key, value=value)
        new = "up" if value == 1 else "down"
        Comment.objects.filter(pk=comment_.pk).update(**{new: F(new) + 1})


def start_debate(process: Process, participant: Participant, title: str, body: str) -> Debate:
    permissions.check(process, "debate", participant)
    return Debate.objects.create(process=process, title=_text(title, TITLE_MAX, _("The title")),
                                 body=_text(body, BODY_MAX, _("The text")))  # fmt: skip


def search(query: str, limit: int = 50) -> list[Proposal]:
    query = (query or "").strip()[:100]
    if not query:
        return []
    found = Proposal.objects.filter(hidden=False).filter(Q(title__icontains=query) | Q(body__icontains=query))
    return list(found.exclude(status="withdrawn").select_related("process")[:limit])


# -- the vote --------------------------------------------------------------------------------------------------


def rules(process: Process) -> tally.Rules:
    return tally.Rules(kind=process.vote_kind, max_choices=process.max_choices, budget_total=process.budget_total,
                       budget_min_percent=process.budget_min_percent, weights=permissions.weights(process))  # fmt: skip


def options(process: Process) -> list[tally.Option]:
    selected = Proposal.objects.filter(process=process, status="selected", hidden=False).order_by("id")
    return [tally.Option(id=p.pk, title=p.title, cost=p.cost) for p in selected]


def parse_choices(raw: list[str]) -> list[int]:
    try:
        return [int(value) for value in raw]
    except (TypeError, ValueError):
        raise Invalid(_("An option on this ballot does not exist.")) from None


#: The options of processes whose voting has opened (they cannot change after that): (process id, opened) → options.
_FROZEN_OPTIONS: dict[tuple[int, str], list[tally.Option]] = {}


def ballot_options(process: Process) -> list[tally.Option]:
    """The options on the ballot; once voting opened they are frozen, so each worker reads them once."""
    if process.voting_opened_at is None:
        return options(process)
    key = (process.pk, process.voting_opened_at.isoformat())
    found = _FROZEN_OPTIONS.get(key)
    if found is None:
        found = _FROZEN_OPTIONS[key] = options(process)
    return found


#: Per-worker snapshots of processes whose vote is open: slug → (read at, process). Once voting opened, nothing the
#: vote view checks can change (``Process.FROZEN_FIELDS``/``FROZEN_KEYS``) except the phase, and the phase is checked
#: again by the statement that records the vote, so a snapshot is never wrong in what it lets through.
_VOTE_SNAPSHOTS: dict[str, tuple[float, Process]] = {}
SNAPSHOT_SECONDS = 5.0


def vote_snapshot(slug: str) -> Process | None:
    """The process ``slug`` while its vote is open, from this worker's snapshot (read at most every
    ``SNAPSHOT_SECONDS``); None when there is no such process. A process not in the vote phase is read every time."""
    now = time.monotonic()
    found = _VOTE_SNAPSHOTS.get(slug)
    if found is not None and now - found[0] < SNAPSHOT_SECONDS:
        return found[1]
    process = Process.objects.defer("published_document", "published_result", "description").filter(slug=slug).first()
    if process is not None and process.phase == "vote" and process.voting_opened_at is not None:
        _VOTE_SNAPSHOTS[slug] = (now, process)
    else:
        _VOTE_SNAPSHOTS.pop(slug, None)
    return process


def _record_sql() -> str:
    """The statement(s) that record a vote, guarded by the process being in the vote phase *now* (the snapshot may
    be older). PostgreSQL: one statement — the voter row (``ON CONFLICT DO NOTHING``) and the ballot (``ON CONFLICT
    (process, replace_tag) DO UPDATE``: a re-vote replaces the id and the choices) in data-modifying CTEs, the
    process row share-locked so a phase change waits for votes in flight and votes after it find no row. SQLite has
    no data-modifying CTEs: the same two inserts in one ``BEGIN IMMEDIATE`` transaction (the write lock orders them
    after any phase change)."""
    quote = connection.ops.quote_name
    process, voter, ballot = (quote(m._meta.db_table) for m in (Process, VoterParticipation, Ballot))
    upsert = ("ON CONFLICT (process_id, replace_tag) DO UPDATE SET ballot_id = EXCLUDED.ballot_id, "
              "assurance = EXCLUDED.assurance, choices = EXCLUDED.choices RETURNING ballot_id")  # fmt: skip
    if connection.vendor == "postgresql":
        return (
            f"WITH open AS (SELECT id FROM {process} WHERE id = %(process)s AND phase = 'vote' "  # noqa: S608
            f"AND voting_opened_at = %(opened)s FOR SHARE), "
            f"voter AS (INSERT INTO {voter} (process_id, voter_key) SELECT id, %(voter)s FROM open "
            f"ON CONFLICT (process_id, voter_key) DO NOTHING) "
            f"INSERT INTO {ballot} (ballot_id, process_id, replace_tag, assurance, choices) "
            f"SELECT %(ballot)s, id, %(tag)s, %(assurance)s, CAST(%(choices)s AS jsonb) FROM open {upsert}"
        )
    return (
        f"INSERT INTO {voter} (process_id, voter_key) SELECT id, %(voter)s FROM {process} "  # noqa: S608
        f"WHERE id = %(process)s AND phase = 'vote' AND voting_opened_at = %(opened)s "
        f"ON CONFLICT (process_id, voter_key) DO NOTHING;"
        f"INSERT INTO {ballot} (ballot_id, process_id, replace_tag, assurance, choices) "
        f"SELECT %(ballot)s, id, %(tag)s, %(assurance)s, %(choices)s FROM {process} "
        f"WHERE id = %(process)s AND phase = 'vote' AND voting_opened_at = %(opened)s {upsert}"
    )


def cast(process_id: int, participant: Participant, choices: list[int], *, process: Process | None = None) -> str:
    """Cast (or replace) this participant's ballot; returns the new ballot id (the receipt).

    Everything that can be decided before touching the database is: the permission and the phase from ``process``
    (the vote view passes its snapshot; otherwise the process is read), the basket against the frozen options, the
    keys. Then the vote is recorded by ``_record_sql`` — one statement on PostgreSQL, two in one transaction on
    SQLite. One person, one ballot: the ballot row is unique per (process, replace tag), so 200 concurrent votes
    of one person leave one ballot (the last to commit), and the voter row is unique per (process, voter key)."""
    if process is None:
        process = Process.objects.defer("published_document", "published_result").get(pk=process_id)
    permissions.check(process, "vote", participant)
    try:
        basket = tally.validate_choices(rules(process), ballot_options(process), choices)
    except tally.BallotRejected as rejected:
        raise Invalid(_ballot_message(rejected)) from None
    ballot_id = secrets.token_hex(16)
    params: dict[str, Any] = {
        "process": process.pk, "voter": participant.voter_key(process.pk), "ballot": ballot_id,
        "tag": participant.replace_tag(process.pk), "assurance": participant.assurance(process.municipality_code),
        "choices": json.dumps(basket),
        # the process the snapshot is of (an id alone could name a process made anew), its rules frozen since then
        "opened": connection.ops.adapt_datetimefield_value(process.voting_opened_at),
    }  # fmt: skip
    statements = _record_sql().split(";")
    if len(statements) == 1:  # PostgreSQL: one statement, its own transaction (autocommit)
        with connection.cursor() as cursor:
            cursor.execute(statements[0], params)
            row = cursor.fetchone()
    else:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statements[0], params)
            cursor.execute(statements[1], params)
            row = cursor.fetchone()
    if row is None:  # the phase changed since the snapshot: nothing was written
        _VOTE_SNAPSHOTS.pop(process.slug, None)
        raise permissions.NotAllowed(_("This is not open in the current phase of the process."))
    return str(row[0])


def _ballot_message(rejected: tally.BallotRejected) -> str:
    return {
        "over_budget": _("The projects you chose cost more than the budget. Remove some and vote again."),
        "under_minimum": _("Your choice spends too little of the budget (the process's minimum share)."),
        "too_many": _("You chose more options than this vote allows."),
        "empty": _("Choose at least one option."),
        "duplicate": _("The same option was chosen twice."),
        "unknown_option": _("An option on this ballot does not exist."),
    }.get(rejected.code, str(rejected))


def has_voted(process: Process, participant: Participant | None) -> bool:
    if participant is None:
        return False
    return VoterParticipation.objects.filter(process=process, voter_key=participant.voter_key(process.pk)).exists()


def live_result(process: Process) -> dict[str, Any]:
    """The count from the ballot table (the published document's result once published)."""
    if process.published_result:
        published: dict[str, Any] = process.published_result
        return published
    ballots = Ballot.objects.filter(process=process).values_list("assurance", "choices")
    return tally.count(rules(process), options(process), list(ballots))


# -- staff: phases, rules, publication, moderation, follow-up ---------------------------------------------------


def set_phase(process: Process, phase: str, moderator: str) -> None:
    if phase not in dict(Process._meta.get_field("phase").choices or []):
        raise Invalid(_("Unknown phase."))
    with transaction.atomic():
        locked = Process.objects.select_for_update().get(pk=process.pk)
        locked.phase = phase
        fields = ["phase"]
        if phase == "vote" and locked.voting_opened_at is None:
            locked.voting_opened_at = timezone.now()
            fields.append("voting_opened_at")
        locked.save(update_fields=fields)
        ModerationAction.objects.create(process=locked, moderator=moderator, action="phase", target=phase)
    _VOTE_SNAPSHOTS.pop(process.slug, None)  # this worker's; the others' expire (and the vote statement re-checks)
    process.refresh_from_db()
    if (
        phase in ("results", "followup")
        and not Process.objects.filter(pk=process.pk, published_result__isnull=False).exists()
    ):
        publish(process)


def set_rules(process: Process, moderator: str, *, weights: dict[str, float] | None = None,
              vote_kind: str | None = None, max_choices: int | None = None, budget_total: int | None = None,
              budget_min_percent: int | None = None) -> None:  # fmt: skip
    """Change the published rules — refused once voting opened (the rule cannot change after that)."""
    with transaction.atomic():
        locked = Process.objects.select_for_update().get(pk=process.pk)
        if locked.voting_opened_at is not None:
            raise Frozen(_("Voting has opened: the weights and the rules of the vote can no longer change."))
        if weights is not None:
            if set(weights) - set(tally.ASSURANCE_ORDER) or any(not 0 <= float(w) <= 10 for w in weights.values()):
                raise Invalid(_("A weight is between 0 and 10 for each kind of participant."))
            locked.weights = {k: float(v) for k, v in weights.items()}
        for name, value in (("vote_kind", vote_kind), ("max_choices", max_choices), ("budget_total", budget_total),
                            ("budget_min_percent", budget_min_percent)):  # fmt: skip
            if value is not None:
                setattr(locked, name, value)
        locked.save()
        ModerationAction.objects.create(process=locked, moderator=moderator, action="rules",
                                        target=json.dumps(permissions.weights(locked))[:60])  # fmt: skip
    process.refresh_from_db()


def select_for_ballot(proposal: Proposal, moderator: str, *, cost: int | None = None) -> None:
    if proposal.process.voting_opened_at is not None:
        raise Frozen(_("Voting has opened: the options on the ballot can no longer change."))
    proposal.status = "selected"
    if cost is not None:
        proposal.cost = cost
    proposal.save(update_fields=["status", "cost", "updated_at"])
    ModerationAction.objects.create(process=proposal.process, moderator=moderator, action="select",
                                    target=f"proposal {proposal.pk}")  # fmt: skip


def tally_key(data_dir: Path) -> ECKey:
    path = data_dir / TALLY_KEY_FILE
    if path.exists():
        return ECKey.import_key(json.loads(path.read_text()))
    key = ECKey.generate_key("P-256", private=True)
    data = key.as_dict(private=True)
    data.update(kid=key.thumbprint(), alg="ES256", use="sig")
    write_atomically(path, json.dumps(data), 0o600)
    return ECKey.import_key(data)


def tally_public_jwks(data_dir: Path) -> dict[str, Any]:
    key = tally_key(data_dir)
    public = key.as_dict(private=False)
    public.update(kid=key.kid or key.thumbprint(), alg="ES256", use="sig")
    return {"keys": [public]}


def publish(process: Process) -> dict[str, Any]:
    """After the vote closed: every ballot (id + choices), the result, digests, the signature. Once."""
    from anchorid.common.settings_base import DATA_DIR

    if process.phase not in ("results", "followup"):
        raise Invalid(_("Ballots are published only after the vote has closed."))
    ballots = Ballot.objects.filter(process=process).values_list("ballot_id", "assurance", "choices")
    unsigned = tally.document(process.slug, process.title, rules(process), options(process), list(ballots),
                              timezone.now().isoformat(timespec="seconds"))  # fmt: skip
    signed = tally.sign(unsigned, tally_key(DATA_DIR))
    Process.objects.filter(pk=process.pk, published_document__isnull=True).update(
        published_document=signed, published_signature=signed["signature"]["jws"], published_result=signed["result"]
    )
    process.refresh_from_db()
    published: dict[str, Any] = process.published_document or {}
    return published


def hide(target: Proposal | Comment, moderator: str, reason: str) -> None:
    reason = _text(reason, REASON_MAX, _("The reason"))
    process = target.process if isinstance(target, Proposal) else (
        target.proposal.process if target.proposal else target.debate.process)  # type: ignore[union-attr]  # fmt: skip
    with transaction.atomic():
        target.hidden, target.hidden_reason = True, reason
        target.save(update_fields=["hidden", "hidden_reason"])
        kind = "proposal" if isinstance(target, Proposal) else "comment"
        Report.objects.filter(**{kind: target}).update(resolved=True)
        ModerationAction.objects.create(process=process, moderator=moderator, action="hide",
                                        target=f"{kind} {target.pk}", reason=reason)  # fmt: skip
    notify({target.author_key}, _("A moderator hid your post. Reason: %(r)s") % {"r": reason}, "/notifications/")


def report(participant: Participant, reason: str, *, proposal: Proposal | None = None,
           comment_: Comment | None = None) -> Report:  # fmt: skip
    return Report.objects.create(proposal=proposal, comment=comment_, reporter_key=participant.key,
                                 reason=_text(reason, REASON_MAX, _("The reason")))  # fmt: skip


def merge(source: Proposal, into: Proposal, moderator: str) -> int:
    """Merge ``source`` into ``into`` (moderators): the source is marked merged and points at the target; its
    supports and followers move to the target, a person who supported both counted once (the unique support per
    person and proposal decides); both authors and the followers are told. Returns the supports carried over."""
    if source.process_id != into.process_id or source.pk == into.pk:
        raise Invalid(_("Proposals are merged within one process."))
    if source.status not in ("open",) or into.status not in ("open", "selected") or into.hidden:
        raise Invalid(_("Only an open proposal can be merged, into an open one."))
    with transaction.atomic():
        before = Support.objects.filter(proposal=into).count()
        Support.objects.bulk_create(
            [Support(proposal=into, participant_key=key, assurance=assurance)
             for key, assurance in source.supports.values_list("participant_key", "assurance")],
            ignore_conflicts=True,
        )  # fmt: skip
        carried = Support.objects.filter(proposal=into).count() - before
        followers = set(source.followers.values_list("participant_key", flat=True))
        Follow.objects.bulk_create([Follow(proposal=into, participant_key=key) for key in followers],
                                   ignore_conflicts=True)  # fmt: skip
        source.status, source.merged_into = "merged", into
        source.save(update_fields=["status", "merged_into", "updated_at"])
        ModerationAction.objects.create(process=source.process, moderator=moderator, action="merge",
                                        target=f"proposal {source.pk} -> {into.pk}",
                                        reason=f"{carried} supports carried over")  # fmt: skip
    notify(
        followers | {source.author_key, into.author_key},
        _("“%(a)s” was merged into “%(b)s”.") % {"a": source.title, "b": into.title},
        f"/proposals/{into.pk}/",
    )
    return carried


def record_progress(proposal: Proposal, moderator: str, status: str, percent: int) -> None:
    proposal.progress_status, proposal.progress_percent = _text(status, 200, _("The status")), max(0, min(100, percent))
    proposal.save(update_fields=["progress_status", "progress_percent", "updated_at"])
    ModerationAction.objects.create(process=proposal.process, moderator=moderator, action="progress",
                                    target=f"proposal {proposal.pk}", reason=status[:300])  # fmt: skip
    notify(set(proposal.followers.values_list("participant_key", flat=True)),
           _("Progress on: %(t)s") % {"t": proposal.title}, f"/proposals/{proposal.pk}/")  # fmt: skip


def decide(process: Process, moderator: str, decision: str, reason: str) -> None:
    if decision not in ("continue", "stop"):
        raise Invalid(_("The decision is to continue or to stop."))
    process.decision, process.decision_reason = decision, _text(reason, BODY_MAX, _("The reason"))
    process.save(update_fields=["decision", "decision_reason"])
    ModerationAction.objects.create(process=process, moderator=moderator, action="decision", target=decision,
                                    reason=reason[:300])  # fmt: skip


# -- open data --------------------------------------------------------------------------------------------------


def open_data(process: Process) -> dict[str, Any]:
    """Proposals, comments and results with no personal data: no participant keys, no pseudonyms, no labels."""
    proposals = []
    for p in Proposal.objects.filter(process=process, hidden=False).order_by("id"):
        proposals.append({"id": p.pk, "title": p.title, "body": p.body, "status": p.status, "cost": p.cost,
                          "author_assurance": p.author_assurance, "supports": supports_by_assurance(p),
                          "progress_status": p.progress_status, "progress_percent": p.progress_percent,
                          "created": p.created_at.date().isoformat()})  # fmt: skip
    comments = [
        {"id": c.pk, "proposal": c.proposal_id, "debate": c.debate_id, "parent": c.parent_id, "body": c.body,
         "author_assurance": c.author_assurance, "up": c.up, "down": c.down, "created": c.created_at.date().isoformat()}
        for c in Comment.objects.filter(Q(proposal__process=process) | Q(debate__process=process), hidden=False)
    ]  # fmt: skip
    result = process.published_result
    return {"process": process.slug, "title": process.title, "phase": process.phase, "proposals": proposals,
            "comments": comments, "result": result, "decision": process.decision,
            "decision_reason": process.decision_reason}  # fmt: skip


def open_data_csv(process: Process) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "title", "status", "cost", "author_assurance", "supports_resident", "supports_anchorid",
                     "supports_anonymous", "progress_status", "progress_percent", "created"])  # fmt: skip
    for row in open_data(process)["proposals"]:
        s = row["supports"]
        writer.writerow([row["id"], row["title"], row["status"], row["cost"], row["author_assurance"], s["resident"],
                         s["anchorid"], s["anonymous"], row["progress_status"], row["progress_percent"],
                         row["created"]])  # fmt: skip
    return out.getvalue()
