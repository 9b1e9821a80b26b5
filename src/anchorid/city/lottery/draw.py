"""The lottery draw (抽選): a documented algorithm anyone can re-run from the published seed and entry list.

Algorithm ``anchorid-lottery-v1`` (docs/lottery.md gives the same in prose and a standalone script):

1. Every entry's *priority* is ``HMAC-SHA256(key=seed, message="<round>:<entry id>")`` as lowercase hex; entries
   are ordered by priority, ties (never seen in practice) by entry id.
2. Choices are served rank by rank: first every entry's 1st choice in priority order, then every entry still
   without a win its 2nd choice, and so on (第1希望優先). An entry wins the choice when the slot is still free and
   its participant (one resident's entries in this round share a pseudonym) has fewer wins than the round's cap.
3. An entry wins at most one slot. Slots nobody won stay free for the second, first-come round.

The function is pure: no database, no clock. The same seed and entries give the same result; the seed is
committed (its SHA-256 published) before the entry period ends, so it cannot be chosen after seeing the entries.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ALGORITHM = "anchorid-lottery-v1"
SEED_BYTES = 32


class DrawInputError(ValueError):
    """The inputs cannot be drawn: an unknown slot, a repeated entry id, a bad seed."""


@dataclass(frozen=True)
class EntryInput:
    """One entry as published: its public id, its participant's pseudonym, its slot ids in rank order."""

    entry: str
    participant: str
    choices: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {"entry": self.entry, "participant": self.participant, "choices": list(self.choices)}


@dataclass(frozen=True)
class Win:
    entry: str
    slot: str
    rank: int  # 1 = the entry's first choice

    def as_dict(self) -> dict[str, object]:
        return {"entry": self.entry, "slot": self.slot, "rank": self.rank}


@dataclass(frozen=True)
class DrawResult:
    order: tuple[str, ...]  # entry ids, highest priority first
    wins: tuple[Win, ...]  # in the order they were assigned

    def as_dict(self) -> dict[str, object]:
        return {"order": list(self.order), "wins": [win.as_dict() for win in self.wins]}


def priority(seed: bytes, round_ref: str, entry_id: str) -> str:
    return hmac.new(seed, f"{round_ref}:{entry_id}".encode(), hashlib.sha256).hexdigest()


def draw(
    seed: bytes,
    round_ref: str,
    entries: Sequence[EntryInput],
    slots: Iterable[str],
    *,
    max_wins_per_participant: int,
) -> DrawResult:
    if len(seed) != SEED_BYTES:
        raise DrawInputError(f"the seed must be {SEED_BYTES} bytes")
    if max_wins_per_participant < 1:
        raise DrawInputError("the cap on wins must be at least 1")
    free = set(slots)
    known = set(free)
    seen: set[str] = set()
    for entry in entries:
        if entry.entry in seen:
            raise DrawInputError(f"entry {entry.entry} appears twice")
        seen.add(entry.entry)
        unknown = [slot for slot in entry.choices if slot not in known]
        if unknown:
            raise DrawInputError(f"entry {entry.entry} names slots not in the round: {', '.join(unknown)}")
        if len(set(entry.choices)) != len(entry.choices):
            raise DrawInputError(f"entry {entry.entry} names a slot twice")

    ordered = sorted(entries, key=lambda entry: (priority(seed, round_ref, entry.entry), entry.entry))
    wins: list[Win] = []
    won: set[str] = set()
    per_participant: Counter[str] = Counter()
    deepest = max((len(entry.choices) for entry in entries), default=0)
    for rank in range(1, deepest + 1):
        for entry in ordered:
            if entry.entry in won or len(entry.choices) < rank:
                continue
            if per_participant[entry.participant] >= max_wins_per_participant:
                continue
            slot = entry.choices[rank - 1]
            if slot in free:
                free.remove(slot)
                won.add(entry.entry)
                per_participant[entry.participant] += 1
                wins.append(Win(entry=entry.entry, slot=slot, rank=rank))
    return DrawResult(order=tuple(entry.entry for entry in ordered), wins=tuple(wins))
