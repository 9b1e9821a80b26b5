"""Signed checkpoints: the platform key vouches for the log's Merkle root at a size (RFC 6962 §3.5 tree heads).

``make_checkpoint`` verifies the whole log first and refuses to sign a broken one: a checkpoint must never
launder tampering. It is meant to run periodically (the job runner, later) and by hand with
``anchorid audit checkpoint``.
"""

from __future__ import annotations

import base64

from django.db import IntegrityError, transaction
from django.utils import timezone

from anchorid.idp import conf
from anchorid.idp.audit.chain import append
from anchorid.idp.audit.checkpoint_note import CheckpointNote
from anchorid.idp.audit.entry import format_time, parse_time
from anchorid.idp.audit.events import EventType
from anchorid.idp.audit.models import Checkpoint
from anchorid.idp.audit.verify import Problem, verify_log
from anchorid.idp.keystore import KeyStore, PublicKey, key_id, keystore_from_settings

PLATFORM_ACTOR = "system:platform"


class LogBroken(Exception):
    """The log failed verification, so no checkpoint was signed."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"refusing to sign a checkpoint over a broken audit log: {problem}")
        self.problem = problem


def signing_key_name() -> str:
    return conf.audit_signing_key()


def platform_public_key(store: KeyStore, *, create: bool = False) -> PublicKey:
    """The checkpoint signing key's public half; with ``create``, make the key (EC-P256) if it is missing.

    Creating it is itself an audit event, recorded before the first checkpoint that key signs.
    """
    name = signing_key_name()
    if create and not store.has_key(name):
        with transaction.atomic():
            public_key = store.create_key(name, "EC-P256")
            append(
                EventType.PLATFORM_KEY_CREATED,
                subject=f"key:{name}",
                actor=PLATFORM_ACTOR,
                details={"key_name": name, "key_id": key_id(public_key), "algorithm": "EC-P256"},
            )
        return public_key
    return store.public_key(name)


def trusted_keys(store: KeyStore) -> dict[str, PublicKey]:
    public_key = store.public_key(signing_key_name())
    return {key_id(public_key): public_key}


def make_checkpoint(store: KeyStore | None = None) -> Checkpoint:
    """Verify the log, then sign and store a checkpoint over all of it (or return the one at that size)."""
    store = store or keystore_from_settings()
    public_key = platform_public_key(store, create=True)
    keys = {key_id(public_key): public_key}
    report = verify_log(keys)
    if report.problem:
        raise LogBroken(report.problem)
    existing = Checkpoint.objects.filter(tree_size=report.entries).first()
    if existing:
        return existing
    now = format_time(timezone.now())
    note = CheckpointNote(conf.audit_origin(), report.entries, report.root_hash, now)
    signature = store.sign(signing_key_name(), note.body(), "ES256")
    try:
        with transaction.atomic():
            return Checkpoint.objects.create(
                tree_size=note.tree_size,
                root_hash=note.root_hash.hex(),
                time=parse_time(now),
                origin=note.origin,
                key_id=key_id(public_key),
                signature=base64.b64encode(signature).decode("ascii"),
            )
    except IntegrityError:  # another process signed this size first
        return Checkpoint.objects.get(tree_size=note.tree_size)
