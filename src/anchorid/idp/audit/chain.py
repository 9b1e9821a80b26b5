"""The hash chain and ``append`` — the one way entries are written. Encoding: ``entry.py``.

- ``entry_hash = SHA-256(encoding)``; each entry's ``prev_hash`` is the previous entry's ``entry_hash``
  (64 zeros for seq 0), so changing, removing or moving an entry breaks every link after it;
- the entry's Merkle leaf hash is ``SHA-256(0x00 || encoding)`` (RFC 6962 §2.1), the leaf data being the
  encoding itself, so an inclusion proof carries the entry and anyone can recompute its leaf.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from anchorid.idp.audit.canonical_json import canonical_json
from anchorid.idp.audit.entry import EntryContent, format_time, parse_time
from anchorid.idp.audit.events import EventType, check_details, check_event_type, check_party_id
from anchorid.idp.audit.models import HEAD_ID, AuditEntry, AuditHead


class AuditHeadMissing(Exception):
    """The head row is gone while entries exist: the log was tampered with (or flushed by hand)."""


def _locked_head() -> AuditHead:
    """Lock the head row; make it when the log is empty (a fresh or flushed database)."""
    try:
        return AuditHead.objects.select_for_update().get(pk=HEAD_ID)
    except AuditHead.DoesNotExist:
        if AuditEntry.objects.exists():
            raise AuditHeadMissing(
                "the audit log's head row is missing but entries exist: run `anchorid audit verify`"
            ) from None
        AuditHead.objects.get_or_create(pk=HEAD_ID)  # a concurrent creator makes this fetch theirs instead
        return AuditHead.objects.select_for_update().get(pk=HEAD_ID)


def _row(content: EntryContent) -> AuditEntry:
    """The (unsaved) row for ``content``, its hash computed."""
    return AuditEntry(
        seq=content.seq,
        time=parse_time(content.time),
        event_type=content.event_type,
        subject=content.subject,
        actor=content.actor,
        details=content.details,
        prev_hash=content.prev_hash,
        entry_hash=content.entry_hash(),
    )


def append(
    event_type: EventType | str,
    subject: str,
    actor: str,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry and return it. Call it inside the transaction of the change it records.

    The entry then commits or rolls back with that change. Appends are serialised on the head row
    (``select_for_update``; ``BEGIN IMMEDIATE`` on SQLite), held until the caller's transaction ends, so
    keep audited transactions short and take other row locks *before* calling this (one lock order, no
    deadlocks). Refuses (``ForbiddenDetail``) an unknown event type, a subject or actor that is not an
    opaque id, and any detail key not allowed for the event type.
    """
    kind = check_event_type(str(event_type))
    subject = check_party_id(subject, "subject")
    actor = check_party_id(actor, "actor")
    clean = check_details(kind, details or {})
    canonical_json(clean)  # refuse floats and the like before taking the lock
    with transaction.atomic():
        head = _locked_head()
        content = EntryContent(
            seq=head.size,
            time=format_time(timezone.now()),
            event_type=kind.value,
            subject=subject,
            actor=actor,
            details=clean,
            prev_hash=head.head_hash,
        )
        entry = _row(content)
        entry.save(force_insert=True)
        head.size = content.seq + 1
        head.head_hash = entry.entry_hash
        head.save(update_fields=["size", "head_hash"])
    return entry


def append_many(items: list[tuple[EventType | str, str, str, Mapping[str, Any] | None]]) -> list[AuditEntry]:
    """Append several entries, in order, under one lock of the head row and one INSERT (a sweep's batch).

    The same checks as :func:`append` run on every item before anything is written; any refusal writes none.
    Call it inside the transaction of the changes it records.
    """
    checked = []
    for event_type, subject, actor, details in items:
        kind = check_event_type(str(event_type))
        clean = check_details(kind, details or {})
        canonical_json(clean)
        checked.append((kind, check_party_id(subject, "subject"), check_party_id(actor, "actor"), clean))
    if not checked:
        return []
    with transaction.atomic():
        head = _locked_head()
        entries: list[AuditEntry] = []
        for kind, subject, actor, clean in checked:
            content = EntryContent(
                seq=head.size + len(entries),
                time=format_time(timezone.now()),
                event_type=kind.value,
                subject=subject,
                actor=actor,
                details=clean,
                prev_hash=entries[-1].entry_hash if entries else head.head_hash,
            )
            entries.append(_row(content))
        AuditEntry.objects.bulk_create(entries)
        head.size += len(entries)
        head.head_hash = entries[-1].entry_hash
        head.save(update_fields=["size", "head_hash"])
    return entries
