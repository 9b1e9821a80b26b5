"""The draw itself (no database): reproducible from the seed, rank by rank, the cap on wins per participant, and
the audit document's checks (seed against commitment, entry list against digest, wins against a re-run)."""

from __future__ import annotations

import copy
import hashlib
import hmac
from typing import Any

import pytest

from anchorid.city.lottery import audit
from anchorid.city.lottery.draw import ALGORITHM, DrawInputError, EntryInput, draw, priority

SEED = bytes(range(32))
OTHER_SEED = bytes(range(1, 33))
SLOTS = ["1", "2", "3"]


def many_entries(count: int = 30) -> list[EntryInput]:
    return [EntryInput(entry=f"E{i:03d}", participant=f"P{i:03d}", choices=("1", "2", "3")) for i in range(count)]


def test_it_gives_the_same_result_for_the_same_seed() -> None:
    entries = many_entries()
    first = draw(SEED, "round-1", entries, SLOTS, max_wins_per_participant=1)
    second = draw(SEED, "round-1", list(reversed(entries)), SLOTS, max_wins_per_participant=1)
    assert first == second
    assert len(first.wins) == 3


def test_it_gives_a_different_result_for_a_different_seed() -> None:
    entries = many_entries()
    first = draw(SEED, "round-1", entries, SLOTS, max_wins_per_participant=1)
    other = draw(OTHER_SEED, "round-1", entries, SLOTS, max_wins_per_participant=1)
    assert first.order != other.order
    assert first.wins != other.wins


def test_it_orders_entries_by_hmac_sha256_of_round_and_entry_id() -> None:
    entries = many_entries(5)
    result = draw(SEED, "round-7", entries, SLOTS, max_wins_per_participant=1)
    expected = sorted((hmac.new(SEED, f"round-7:{e.entry}".encode(), hashlib.sha256).hexdigest(), e.entry)
                      for e in entries)  # fmt: skip
    assert list(result.order) == [entry for _, entry in expected]
    assert priority(SEED, "round-7", "E000") == hmac.new(SEED, b"round-7:E000", hashlib.sha256).hexdigest()


def test_it_serves_every_first_choice_before_any_second_choice() -> None:
    # Whatever the order, B's first choice (slot 2) beats A's second choice (slot 2).
    for seed in (SEED, OTHER_SEED, bytes(32)):
        entries = [EntryInput("EA", "PA", ("1", "2")), EntryInput("EB", "PB", ("2",)), EntryInput("EC", "PC", ("1",))]
        result = draw(seed, "round-1", entries, SLOTS, max_wins_per_participant=1)
        wins = {win.entry: (win.slot, win.rank) for win in result.wins}
        assert wins["EB"] == ("2", 1)
        assert sorted(wins) in (["EA", "EB"], ["EB", "EC"])


def test_it_caps_wins_per_participant() -> None:
    entries = [EntryInput(f"E{i}", "SAME", (slot,)) for i, slot in enumerate(SLOTS)]
    assert len(draw(SEED, "round-1", entries, SLOTS, max_wins_per_participant=1).wins) == 1
    assert len(draw(SEED, "round-1", entries, SLOTS, max_wins_per_participant=2).wins) == 2


def test_it_gives_one_slot_per_entry_and_each_slot_once() -> None:
    result = draw(SEED, "round-1", many_entries(2), SLOTS, max_wins_per_participant=5)
    assert len(result.wins) == 2
    assert len({win.slot for win in result.wins}) == 2


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([EntryInput("E1", "P1", ("9",))], "not in the round"),
        ([EntryInput("E1", "P1", ("1",)), EntryInput("E1", "P2", ("2",))], "twice"),
        ([EntryInput("E1", "P1", ("1", "1"))], "slot twice"),
    ],
)
def test_it_refuses_inputs_it_cannot_draw(entries: list[EntryInput], message: str) -> None:
    with pytest.raises(DrawInputError, match=message):
        draw(SEED, "round-1", entries, SLOTS, max_wins_per_participant=1)


def test_it_refuses_a_short_seed() -> None:
    with pytest.raises(DrawInputError, match="32 bytes"):
        draw(b"short", "round-1", [], SLOTS, max_wins_per_participant=1)


def published(seed: bytes = SEED) -> dict[str, Any]:
    entries = many_entries(10)
    result = draw(seed, "round-1", entries, SLOTS, max_wins_per_participant=1)
    return {
        "algorithm": ALGORITHM,
        "round": "round-1",
        "seed_commitment": audit.seed_commitment(seed),
        "committed_at": "2026-11-01T00:00:00+00:00",
        "entries_close_at": "2026-11-15T00:00:00+00:00",
        "entries_digest": audit.entries_digest(entries),
        "slots": SLOTS,
        "max_wins_per_participant": 1,
        "seed": seed.hex(),
        "entries": audit.canonical_entries(entries),
        "wins": [win.as_dict() for win in result.wins],
        "result_digest": audit.result_digest(result),
    }


def test_it_verifies_an_honest_document() -> None:
    report = audit.verify_document(published())
    assert report.ok, report.checks


def test_it_detects_a_seed_that_does_not_match_its_commitment() -> None:
    document = published()
    document["seed"] = OTHER_SEED.hex()
    report = audit.verify_document(document)
    assert not report.ok
    assert any(name.startswith("seed matches") and not passed for name, passed, _ in report.checks)


def test_it_detects_an_entry_added_after_closing() -> None:
    document = copy.deepcopy(published())
    document["entries"].append({"entry": "E999", "participant": "P999", "choices": ["1"]})
    report = audit.verify_document(document)
    assert not report.ok
    assert any(name.startswith("entry list") and not passed for name, passed, _ in report.checks)


def test_it_detects_changed_wins() -> None:
    document = copy.deepcopy(published())
    document["wins"][0]["entry"] = "E009" if document["wins"][0]["entry"] != "E009" else "E008"
    assert not audit.verify_document(document).ok


def test_it_detects_a_commitment_made_after_entries_closed() -> None:
    document = published()
    document["committed_at"] = "2026-11-16T00:00:00+00:00"
    assert not audit.verify_document(document).ok


@pytest.mark.parametrize("missing", ["seed", "entries", "round", "seed_commitment"])
def test_it_says_what_an_incomplete_document_lacks(missing: str) -> None:
    document = published()
    document[missing] = None
    with pytest.raises(audit.AuditError):
        audit.verify_document(document)
