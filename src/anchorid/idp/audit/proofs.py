"""Making proofs a third party can check without the database: inclusion (RFC 6962 §2.1.1), consistency (§2.1.2).

An inclusion proof is one JSON document: the entry itself (its leaf hash is recomputed from it), the audit
path, and the signed checkpoint whose root the path leads to. Checking it needs only the platform's public
key; the proof carries a copy for convenience, but a verifier should pin the key it trusts.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import serialization

from anchorid.idp.audit import merkle
from anchorid.idp.audit.entry import EntryContent
from anchorid.idp.audit.models import AuditEntry, Checkpoint
from anchorid.idp.audit.proof_check import CONSISTENCY_PROOF_FORMAT, INCLUSION_PROOF_FORMAT
from anchorid.idp.audit.verify import checkpoint_note
from anchorid.idp.keystore import PublicKey


class ProofUnavailable(Exception):
    """No proof can be made: no checkpoint covers the entry yet, or the log disagrees with its checkpoint."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _leaf_hashes(tree_size: int) -> list[bytes]:
    """Leaf hashes of the first ``tree_size`` entries, recomputed from their content (O(n); fine for now)."""
    leaves = [EntryContent.of(e).leaf_hash() for e in AuditEntry.objects.filter(seq__lt=tree_size).order_by("seq")]
    if len(leaves) != tree_size:
        raise ProofUnavailable(f"the log has {len(leaves)} of the {tree_size} entries its checkpoint covers")
    return leaves


def _checkpoint_json(checkpoint: Checkpoint) -> dict[str, Any]:
    note = checkpoint_note(checkpoint)
    return {
        "origin": note.origin,
        "tree_size": note.tree_size,
        "root_hash": _b64(note.root_hash),
        "time": note.time,
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
        "note": note.text(),
    }


def prove_inclusion(seq: int, public_key: PublicKey, checkpoint: Checkpoint | None = None) -> dict[str, Any]:
    """An inclusion proof for entry ``seq`` against ``checkpoint`` (default: the latest one covering it)."""
    if checkpoint is None:
        checkpoint = Checkpoint.objects.filter(tree_size__gt=seq).order_by("-tree_size").first()
        if checkpoint is None:
            raise ProofUnavailable(f"no checkpoint covers seq {seq} yet: run `anchorid audit checkpoint`")
    elif checkpoint.tree_size <= seq:
        raise ProofUnavailable(f"the checkpoint at size {checkpoint.tree_size} does not cover seq {seq}")
    entry = AuditEntry.objects.filter(seq=seq).first()
    if entry is None:
        raise ProofUnavailable(f"there is no entry with seq {seq}")
    leaves = _leaf_hashes(checkpoint.tree_size)
    if merkle.root_hash(leaves).hex() != checkpoint.root_hash:
        raise ProofUnavailable("the entries no longer match the checkpoint's root: run `anchorid audit verify`")
    content = EntryContent.of(entry)
    return {
        "format": INCLUSION_PROOF_FORMAT,
        "entry": content.as_json(),
        "entry_hash": entry.entry_hash,
        "leaf_index": seq,
        "tree_size": checkpoint.tree_size,
        "inclusion_path": [_b64(h) for h in merkle.inclusion_proof(leaves, seq)],
        "checkpoint": _checkpoint_json(checkpoint),
        "public_key": public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii"),
    }


def prove_consistency(old: Checkpoint, new: Checkpoint) -> dict[str, Any]:
    """RFC 6962 §2.1.2 proof that the log at ``new`` extends the log at ``old`` (nothing rewritten or dropped)."""
    if old.tree_size > new.tree_size:
        raise ProofUnavailable("the old checkpoint must not be larger than the new one")
    leaves = _leaf_hashes(new.tree_size)
    if merkle.root_hash(leaves).hex() != new.root_hash:
        raise ProofUnavailable("the entries no longer match the checkpoint's root: run `anchorid audit verify`")
    return {
        "format": CONSISTENCY_PROOF_FORMAT,
        "old": _checkpoint_json(old),
        "new": _checkpoint_json(new),
        "consistency_path": [_b64(h) for h in merkle.consistency_proof(leaves, old.tree_size)],
    }
