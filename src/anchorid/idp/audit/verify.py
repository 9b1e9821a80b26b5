"""Verify the whole audit log: the hash chain, every checkpoint's root (RFC 6962 §2.1) and signature.

Stops at the first problem and names it: the first entry whose seq, content or link is wrong; or, when an
attacker rewrote an entry *and* every link after it, the range between the last matching checkpoint and
the first one that no longer matches (the chain alone cannot tell which entry in there changed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import connection, transaction

from anchorid.idp.audit.checkpoint_note import CheckpointNote, signature_is_valid
from anchorid.idp.audit.entry import ZERO_HASH_HEX, EntryContent, format_time
from anchorid.idp.audit.merkle import CompactRange
from anchorid.idp.audit.models import HEAD_ID, AuditEntry, AuditHead, Checkpoint
from anchorid.idp.keystore import PublicKey

CHUNK = 2000


@dataclass(frozen=True)
class Problem:
    """The first thing found wrong. ``seq`` is the first bad (or first possibly bad) entry."""

    seq: int | None
    message: str
    checkpoint_size: int | None = None

    def __str__(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else f"checkpoint at size {self.checkpoint_size}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class VerificationReport:
    entries: int
    checkpoints_checked: int
    root_hash: bytes  # RFC 6962 root over every entry read
    last_checkpoint_size: int
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def checkpoint_note(checkpoint: Checkpoint) -> CheckpointNote:
    return CheckpointNote(
        origin=checkpoint.origin,
        tree_size=checkpoint.tree_size,
        root_hash=bytes.fromhex(checkpoint.root_hash),
        time=format_time(checkpoint.time),
    )


def _check_checkpoint(
    checkpoint: Checkpoint, root: bytes, trusted_keys: Mapping[str, PublicKey], last_good: int
) -> Problem | None:
    try:
        note = checkpoint_note(checkpoint)
    except ValueError:
        return Problem(None, "the checkpoint row is malformed", checkpoint.tree_size)
    wrong_signature = signature_is_valid(note, checkpoint.key_id, checkpoint.signature, trusted_keys)
    if wrong_signature:
        return Problem(None, wrong_signature, checkpoint.tree_size)
    if note.root_hash != root:
        return Problem(
            last_good,
            f"the first {checkpoint.tree_size} entries no longer hash to the root signed in the checkpoint at "
            f"size {checkpoint.tree_size}: an entry in seq {last_good}..{checkpoint.tree_size - 1} was rewritten "
            "together with every chain link after it",
            checkpoint.tree_size,
        )
    return None


def verify_log(trusted_keys: Mapping[str, PublicKey]) -> VerificationReport:
    """Check every entry and checkpoint, in seq order, against ``trusted_keys`` (key id → platform public key).

    Reads one consistent snapshot, so appends running meanwhile are not mistaken for damage: REPEATABLE READ
    on PostgreSQL (when not already inside a transaction); on SQLite the transaction itself is the snapshot.
    """
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _verify(trusted_keys)


def _verify(trusted_keys: Mapping[str, PublicKey]) -> VerificationReport:
    head = AuditHead.objects.filter(pk=HEAD_ID).first() or AuditHead(size=0, head_hash=ZERO_HASH_HEX)
    checkpoints = list(Checkpoint.objects.order_by("tree_size"))
    pending = iter(checkpoints)
    next_checkpoint = next(pending, None)
    tree = CompactRange()
    prev_hash = ZERO_HASH_HEX
    last_good = 0
    checked = 0

    def report(problem: Problem | None) -> VerificationReport:
        return VerificationReport(tree.size, checked, tree.root(), last_good, problem)

    while next_checkpoint is not None and next_checkpoint.tree_size == 0:
        problem = _check_checkpoint(next_checkpoint, tree.root(), trusted_keys, last_good)
        if problem:
            return report(problem)
        checked += 1
        next_checkpoint = next(pending, None)

    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=CHUNK):
        expected = tree.size
        if entry.seq != expected:
            return report(Problem(expected, f"entry missing: the log jumps from seq {expected - 1} to seq {entry.seq}"))
        content = EntryContent.of(entry)
        try:
            recomputed = content.entry_hash()
        except ValueError:
            recomputed = ""
        if recomputed != entry.entry_hash:
            return report(
                Problem(entry.seq, "its content does not match its entry_hash (the entry was modified or moved)")
            )
        if entry.prev_hash != prev_hash:
            return report(
                Problem(
                    entry.seq,
                    f"its prev_hash does not match the entry_hash of seq {entry.seq - 1} "
                    "(an entry was removed, inserted or reordered before it)",
                )
            )
        tree.append(content.leaf_hash())
        prev_hash = entry.entry_hash
        while next_checkpoint is not None and next_checkpoint.tree_size == tree.size:
            problem = _check_checkpoint(next_checkpoint, tree.root(), trusted_keys, last_good)
            if problem:
                return report(problem)
            checked += 1
            last_good = tree.size
            next_checkpoint = next(pending, None)

    if next_checkpoint is not None:
        return report(
            Problem(
                tree.size,
                f"entries missing at the end: a signed checkpoint covers {next_checkpoint.tree_size} entries "
                f"but the log ends at seq {tree.size - 1}",
                next_checkpoint.tree_size,
            )
        )
    if head.size != tree.size or head.head_hash != prev_hash:
        return report(
            Problem(
                min(head.size, tree.size),
                f"the log head records {head.size} entries ending in {head.head_hash[:16]}…, but the entries end at "
                f"seq {tree.size - 1} with {prev_hash[:16]}… "
                "(entries cut off or added at the end, or the head altered)",
            )
        )
    return report(None)
