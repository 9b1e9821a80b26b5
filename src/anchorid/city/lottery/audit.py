"""Commit-then-reveal for the lottery seed, and the published audit document that lets anyone re-run a draw.

- Before the entry period ends the city publishes ``seed_commitment = SHA-256(seed)`` (hex) on the round page.
- When entries close it publishes ``entries_digest``: SHA-256 of the canonical entry list (below), so no entry can
  be added, dropped or changed afterwards without the digest changing.
- After the draw it publishes the seed itself, the entry list and the wins (``/lottery/<id>/audit.json``).

Canonical JSON: UTF-8, keys sorted, no spaces (``separators=(",", ":")``), entries sorted by entry id.
``verify_document`` checks all three and recomputes the draw; ``anchorid city lottery verify`` runs it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from anchorid.city.lottery.draw import ALGORITHM, SEED_BYTES, DrawInputError, DrawResult, EntryInput, Win, draw


class AuditError(ValueError):
    """An audit document that does not hold together (missing fields, wrong types)."""


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seed_commitment(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()


def seed_matches(seed: bytes, commitment: str) -> bool:
    return hmac.compare_digest(seed_commitment(seed), commitment.lower())


def canonical_entries(entries: Sequence[EntryInput]) -> list[dict[str, object]]:
    return [entry.as_dict() for entry in sorted(entries, key=lambda entry: entry.entry)]


def entries_digest(entries: Sequence[EntryInput]) -> str:
    return hashlib.sha256(canonical_json(canonical_entries(entries))).hexdigest()


def result_digest(result: DrawResult) -> str:
    return hashlib.sha256(canonical_json(result.as_dict())).hexdigest()


@dataclass
class Verification:
    """What ``verify_document`` found: ``ok`` only when every check passed."""

    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    def add(self, name: str, passed: bool, detail: str = "") -> None:
        self.checks.append((name, passed, detail))

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(passed for _, passed, _ in self.checks)


def _text(document: dict[str, Any], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value:
        raise AuditError(f"the document has no {key!r}")
    return value


def entries_from_document(document: dict[str, Any]) -> list[EntryInput]:
    raw = document.get("entries")
    if not isinstance(raw, list):
        raise AuditError("the document has no entry list (entries are published when the entry period closes)")
    entries = []
    for item in raw:
        if not isinstance(item, dict):
            raise AuditError("an entry is not an object")
        choices = item.get("choices")
        if not (isinstance(item.get("entry"), str) and isinstance(item.get("participant"), str)):
            raise AuditError("an entry has no 'entry' or 'participant'")
        if not isinstance(choices, list) or not all(isinstance(choice, str) for choice in choices):
            raise AuditError(f"entry {item['entry']} has no list of slot ids")
        entries.append(EntryInput(entry=item["entry"], participant=item["participant"], choices=tuple(choices)))
    return entries


def verify_document(document: dict[str, Any]) -> Verification:
    """Re-check a published round: the seed against its commitment, the entry list against its digest, and the
    wins against a fresh draw. Raises ``AuditError`` when the document is not complete enough to check."""
    report = Verification()
    if document.get("algorithm") != ALGORITHM:
        raise AuditError(f"unknown algorithm {document.get('algorithm')!r} (this tool knows {ALGORITHM})")
    round_ref = _text(document, "round")
    commitment = _text(document, "seed_commitment")
    seed_hex = document.get("seed")
    if not isinstance(seed_hex, str):
        raise AuditError("the seed is not published yet (it is published after the draw)")
    try:
        seed = bytes.fromhex(seed_hex)
    except ValueError:
        raise AuditError("the seed is not hexadecimal") from None
    if len(seed) != SEED_BYTES:
        raise AuditError(f"the seed must be {SEED_BYTES} bytes")
    report.add("seed matches the commitment published before entries closed", seed_matches(seed, commitment),
               f"SHA-256(seed) = {seed_commitment(seed)}, committed {commitment}")  # fmt: skip
    committed_at, closes_at = document.get("committed_at"), document.get("entries_close_at")
    if isinstance(committed_at, str) and isinstance(closes_at, str):
        report.add("seed was committed before the entry period ended", committed_at < closes_at,
                   f"committed {committed_at}, entries closed {closes_at}")  # fmt: skip
    entries = entries_from_document(document)
    digest = entries_digest(entries)
    published_digest = _text(document, "entries_digest")
    report.add(
        "entry list matches the digest published when entries closed",
        hmac.compare_digest(digest, published_digest),
        f"computed {digest}, published {published_digest}",
    )
    slots = document.get("slots")
    cap = document.get("max_wins_per_participant")
    if not isinstance(slots, list) or not all(isinstance(slot, str) for slot in slots):
        raise AuditError("the document has no list of slot ids")
    if not isinstance(cap, int) or isinstance(cap, bool):
        raise AuditError("the document has no 'max_wins_per_participant'")
    try:
        result = draw(seed, round_ref, entries, slots, max_wins_per_participant=cap)
    except DrawInputError as error:
        report.add("the draw can be re-run", False, str(error))
        return report
    published = document.get("wins")
    if not isinstance(published, list):
        raise AuditError("the document has no published wins")
    try:
        published_wins = [Win(entry=str(w["entry"]), slot=str(w["slot"]), rank=int(w["rank"])) for w in published]
    except (KeyError, TypeError, ValueError):
        raise AuditError("a published win is not {entry, slot, rank}") from None
    report.add("re-running the draw gives the published wins", list(result.wins) == published_wins,
               f"{len(result.wins)} wins recomputed, {len(published_wins)} published")  # fmt: skip
    if isinstance(document.get("result_digest"), str):
        report.add("result digest matches", hmac.compare_digest(result_digest(result), document["result_digest"]))
    return report
