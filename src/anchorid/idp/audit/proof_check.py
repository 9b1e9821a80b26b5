"""Checking audit-log proofs: inclusion (RFC 9162 §2.1.3.2) and consistency (RFC 9162 §2.1.4.2).

No Django and no database: anyone holding a proof and the platform's public key can run this.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization

from anchorid.idp.audit import merkle
from anchorid.idp.audit.checkpoint_note import CheckpointNote, signature_is_valid
from anchorid.idp.audit.entry import EntryContent
from anchorid.idp.keystore import PublicKey, key_id

INCLUSION_PROOF_FORMAT = "anchorid-audit-inclusion-proof-v1"
CONSISTENCY_PROOF_FORMAT = "anchorid-audit-consistency-proof-v1"


@dataclass(frozen=True)
class ProofCheck:
    ok: bool
    message: str


def _signed_checkpoint(value: Any, trusted: PublicKey | None, embedded_pem: Any) -> tuple[CheckpointNote, str | None]:
    """Parse a checkpoint from a proof and check its signature; returns the note and what is wrong, if anything."""
    if not isinstance(value, dict):
        raise ValueError("checkpoint missing")
    note = CheckpointNote(
        origin=str(value["origin"]),
        tree_size=int(value["tree_size"]),
        root_hash=base64.b64decode(str(value["root_hash"]), validate=True),
        time=str(value["time"]),
    )
    if trusted is None:
        if not isinstance(embedded_pem, str):
            raise ValueError("no public key given and none embedded")
        loaded = serialization.load_pem_public_key(embedded_pem.encode("ascii"))
        if not isinstance(loaded, PublicKey):
            raise ValueError("the embedded public key is of an unsupported type")
        trusted = loaded
    wrong = signature_is_valid(note, str(value["key_id"]), str(value["signature"]), {key_id(trusted): trusted})
    return note, wrong


def check_inclusion_proof(proof: Any, trusted_key: PublicKey | None = None) -> ProofCheck:
    """Check an inclusion proof document. Without ``trusted_key`` the embedded key is used (and said so)."""
    try:
        if not isinstance(proof, dict) or proof.get("format") != INCLUSION_PROOF_FORMAT:
            return ProofCheck(False, f"not an {INCLUSION_PROOF_FORMAT} document")
        content = EntryContent.from_json(proof["entry"])
        index, tree_size = int(proof["leaf_index"]), int(proof["tree_size"])
        path = [base64.b64decode(str(h), validate=True) for h in proof["inclusion_path"]]
        note, wrong_signature = _signed_checkpoint(proof["checkpoint"], trusted_key, proof.get("public_key"))
        entry_hash = content.entry_hash()
    except (KeyError, TypeError, ValueError) as e:
        return ProofCheck(False, f"malformed proof: {e}")
    if content.seq != index:
        return ProofCheck(False, f"the entry says seq {content.seq} but the proof is for leaf {index}")
    if proof.get("entry_hash") not in (None, entry_hash):
        return ProofCheck(False, "the entry does not match its entry_hash (the entry was altered)")
    if note.tree_size != tree_size:
        return ProofCheck(False, "the proof's tree size differs from its checkpoint's")
    if wrong_signature:
        return ProofCheck(False, f"checkpoint: {wrong_signature}")
    if not merkle.verify_inclusion(content.leaf_hash(), index, tree_size, path, note.root_hash):
        return ProofCheck(False, "the audit path does not lead from this entry to the checkpoint's root")
    key_source = "the pinned key" if trusted_key is not None else "the key embedded in the proof (pin one to be sure)"
    return ProofCheck(
        True, f"entry seq {index} is in the log of {tree_size} entries signed at {note.time}, checked with {key_source}"
    )


def check_consistency_proof(proof: Any, trusted_key: PublicKey) -> ProofCheck:
    """Check both checkpoints' signatures with ``trusted_key``, then the RFC 9162 §2.1.4.2 consistency path."""
    try:
        if not isinstance(proof, dict) or proof.get("format") != CONSISTENCY_PROOF_FORMAT:
            return ProofCheck(False, f"not an {CONSISTENCY_PROOF_FORMAT} document")
        old, old_wrong = _signed_checkpoint(proof["old"], trusted_key, None)
        new, new_wrong = _signed_checkpoint(proof["new"], trusted_key, None)
        path = [base64.b64decode(str(h), validate=True) for h in proof["consistency_path"]]
    except (KeyError, TypeError, ValueError) as e:
        return ProofCheck(False, f"malformed proof: {e}")
    if old_wrong or new_wrong:
        return ProofCheck(False, f"checkpoint: {old_wrong or new_wrong}")
    if old.origin != new.origin:
        return ProofCheck(False, "the two checkpoints name different logs")
    if not merkle.verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, path):
        return ProofCheck(False, f"the log at size {new.tree_size} does not extend the log at size {old.tree_size}")
    return ProofCheck(True, f"the log at size {new.tree_size} extends the log at size {old.tree_size}")
