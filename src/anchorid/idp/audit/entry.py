"""An audit entry's content and its canonical encoding — no Django here, so proofs can be checked anywhere.

The encoding is the RFC 8785 JSON object
``{"actor", "details", "event_type", "prev_hash", "seq", "subject", "time"}`` (``time`` in UTC, RFC 3339 with
microseconds and ``Z``; hashes in lowercase hex). ``entry_hash = SHA-256(encoding)``; the Merkle leaf hash is
``SHA-256(0x00 || encoding)`` (RFC 6962 §2.1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from anchorid.idp.audit import merkle
from anchorid.idp.audit.canonical_json import canonical_json

if TYPE_CHECKING:
    from anchorid.idp.audit.models import AuditEntry

ZERO_HASH_HEX = "0" * 64  # the prev_hash of seq 0
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class EntryContent:
    """The fields an entry's hash covers, exactly as they are encoded."""

    seq: int
    time: str
    event_type: str
    subject: str
    actor: str
    details: dict[str, Any]
    prev_hash: str

    @classmethod
    def of(cls, entry: AuditEntry) -> EntryContent:
        return cls(
            seq=entry.seq,
            time=format_time(entry.time),
            event_type=entry.event_type,
            subject=entry.subject,
            actor=entry.actor,
            details=entry.details,
            prev_hash=entry.prev_hash,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "event_type": self.event_type,
            "subject": self.subject,
            "actor": self.actor,
            "details": self.details,
            "prev_hash": self.prev_hash,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> EntryContent:
        """Parse an entry from a proof file; raises ``ValueError`` if a field is missing or mistyped."""
        fields = {
            "seq": int,
            "time": str,
            "event_type": str,
            "subject": str,
            "actor": str,
            "details": dict,
            "prev_hash": str,
        }
        for name, kind in fields.items():
            if not isinstance(value.get(name), kind) or (kind is int and isinstance(value.get(name), bool)):
                raise ValueError(f"entry field {name!r} is missing or not a {kind.__name__}")
        return cls(**{name: value[name] for name in fields})

    def encoding(self) -> bytes:
        return canonical_json(self.as_json())

    def entry_hash(self) -> str:
        return hashlib.sha256(self.encoding()).hexdigest()

    def leaf_hash(self) -> bytes:
        return merkle.leaf_hash(self.encoding())


def format_time(moment: datetime) -> str:
    """UTC, RFC 3339, microseconds, ``Z``: the precision both SQLite and PostgreSQL keep."""
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)
