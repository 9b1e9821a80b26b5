"""What the Shared Signals transmitter stores.

- ``Stream``: a receiver's event stream (SSF 1.0 §8.1.1); one per client (the client is the receiver and the
  stream's ``aud``). Push streams carry the receiver's endpoint and the authorization header we send with each
  SET; poll streams are read at our poll endpoint.
- ``RemovedSubject``: subjects the receiver removed from its stream (``default_subjects`` is ALL: every resident
  with a pairwise sub at the client is included unless removed), stored by that client's ``sub``.
- ``OutboxEvent``: one Security Event Token for one stream, written in the transaction of the change that causes
  it (transactional outbox). The SET is signed when written, so every retransmission is byte-identical.
- ``AddressForwarding``: the resident's choice, per client, whether a changed address (or other consented claim)
  is sent to that client; can be set before a move (prior consent).
- ``LogoutDelivery``: a Back-Channel Logout owed to a client (``backchannel``): tried at once after the logout,
  retried by the delivery worker when that fails.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from anchorid.idp.oidc.models import Client

PUSH = "urn:ietf:rfc:8935"
POLL = "urn:ietf:rfc:8936"


class Stream(models.Model):
    class Status(models.TextChoices):
        ENABLED = "enabled"
        PAUSED = "paused"
        DISABLED = "disabled"

    class Method(models.TextChoices):
        PUSH = PUSH, "push (RFC 8935)"
        POLL = POLL, "poll (RFC 8936)"

    stream_id = models.CharField(max_length=64, primary_key=True)
    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="ssf_stream")
    delivery_method = models.CharField(max_length=32, choices=Method.choices)
    endpoint_url = models.CharField(max_length=2000, blank=True, help_text="push: the receiver's endpoint")
    authorization_header = models.CharField(max_length=2000, blank=True, help_text="sent with each push")
    events_requested = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ENABLED)
    status_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # A push stream is delivered by one worker at a time (in order); the lease says which and until when.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"stream {self.stream_id[:8]}… ({self.client_id})"


class RemovedSubject(models.Model):
    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="removed_subjects")
    sub = models.CharField(max_length=255)
    removed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["stream", "sub"], name="ssf_removed_subject_once")
        ]

    def __str__(self) -> str:
        return f"{self.stream_id[:8]}… −{self.sub[:8]}…"


class OutboxEvent(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        DEAD = "dead"

    id = models.BigAutoField(primary_key=True)
    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="outbox")
    # SET_NULL: deleting an account must not take its account-disabled events with it.
    account = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    txn = models.CharField(max_length=64, db_index=True, help_text="the change that caused it (SET txn)")
    jti = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=200)
    token = models.TextField(help_text="the signed SET (compact JWS)")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["state", "next_attempt_at"], name="ssf_outbox_due"),
            models.Index(fields=["stream", "state", "id"], name="ssf_outbox_stream"),
        ]

    def __str__(self) -> str:
        return f"SET {self.jti[:8]}… {self.event_type.rsplit('/', 1)[-1]} ({self.state})"


class AddressForwarding(models.Model):
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    forward = models.BooleanField()
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["account", "client"], name="ssf_forwarding_one_per_client")
        ]

    def __str__(self) -> str:
        return f"{self.client_id}: {'forward' if self.forward else 'keep'}"


class LogoutDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        DEAD = "dead"

    id = models.BigAutoField(primary_key=True)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    sub = models.CharField(max_length=255, help_text="the client's sub for the resident")
    sid = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["state", "next_attempt_at"], name="ssf_logout_due"),
        ]

    def __str__(self) -> str:
        return f"logout {self.sid[:8]}… → {self.client_id} ({self.state})"
