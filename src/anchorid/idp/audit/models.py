"""The audit log's tables: the entries (a hash chain), the head (the lock appends take), and checkpoints."""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from anchorid.idp.audit.entry import ZERO_HASH_HEX

HEAD_ID = 1


class AuditHead(models.Model):
    """The single row every append locks (``SELECT … FOR UPDATE``): the size and hash of the chain so far.

    Serialising appends on one row keeps ``seq`` gapless on PostgreSQL; on SQLite ``BEGIN IMMEDIATE`` already
    serialises writers. The row also lets ``verify`` notice entries cut off the end after the last checkpoint
    (unless whoever cut them also rewrote this row: see docs/audit-log.md, threat model).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=HEAD_ID)
    size = models.BigIntegerField(default=0)
    head_hash = models.CharField(max_length=64, default=ZERO_HASH_HEX)

    class Meta:
        constraints: ClassVar = [models.CheckConstraint(condition=models.Q(id=HEAD_ID), name="audit_head_is_singleton")]

    def __str__(self) -> str:
        return f"audit head: {self.size} entries"


class AuditEntry(models.Model):
    """One identity event. ``entry_hash`` = SHA-256 of the canonical encoding of every other field."""

    seq = models.BigIntegerField(primary_key=True)  # 0-based: also the entry's leaf index in the Merkle tree
    time = models.DateTimeField()
    event_type = models.CharField(max_length=40)  # an EventType value; checked by chain.append
    subject = models.CharField(max_length=128)
    actor = models.CharField(max_length=128)
    details = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)

    class Meta:
        ordering: ClassVar = ["seq"]
        constraints: ClassVar = [models.CheckConstraint(condition=models.Q(seq__gte=0), name="audit_seq_non_negative")]
        indexes: ClassVar = [models.Index(fields=["subject", "seq"], name="audit_subject_seq")]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.seq} {self.event_type} {self.subject}"


class Checkpoint(models.Model):
    """A signed statement "the log's first ``tree_size`` entries have Merkle root ``root_hash``" (RFC 6962 §3.5)."""

    tree_size = models.BigIntegerField(unique=True)
    root_hash = models.CharField(max_length=64)  # hex
    time = models.DateTimeField()
    origin = models.CharField(max_length=200)
    key_id = models.CharField(max_length=64)  # hex SHA-256 of the signing key's SubjectPublicKeyInfo
    signature = models.TextField()  # base64 of the DER ECDSA signature over the checkpoint note

    class Meta:
        ordering: ClassVar = ["tree_size"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=models.Q(tree_size__gte=0), name="audit_tree_size_non_negative")
        ]

    def __str__(self) -> str:
        return f"checkpoint at size {self.tree_size}"
