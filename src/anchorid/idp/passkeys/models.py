"""A passkey (WebAuthn public-key credential) bound to an account, and the one-time challenges of the ceremonies.

- ``Passkey`` keeps what verification needs (credential id, COSE public key, sign count) and what the resident
  sees in self-service (name, created, last used). Never deleted while the account exists: revoking sets
  ``revoked_at`` (for good), suspending sets ``suspended_at`` (the emergency stop; lifted only after the card).
- ``WebAuthnChallenge`` is single use (``used_at`` is set by one conditional UPDATE, so two racing requests
  cannot both use it), expires, and is bound to the browser session that asked for it (the session holds the
  row's random id; nothing else names it).
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.db import models
from django.utils import timezone

from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import Level


class Passkey(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="passkeys")
    credential_id = models.CharField(max_length=1400, unique=True, help_text="base64url of the credential id")
    public_key = models.BinaryField(help_text="COSE_Key")
    sign_count = models.PositiveBigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    name = models.CharField(max_length=64)
    aaguid = models.CharField(max_length=36, blank=True)
    attestation_format = models.CharField(max_length=32, blank=True)
    backed_up = models.BooleanField(default=False, help_text="synced passkey (backup state flag)")
    level = models.PositiveSmallIntegerField(
        choices=[(level.value, level.name) for level in Level], default=Level.DERIVED.value
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["created_at"]

    def __str__(self) -> str:
        return f"passkey {self.id}"

    @property
    def assurance(self) -> Level:
        return Level(self.level)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.suspended_at is None


class WebAuthnChallenge(models.Model):
    class Purpose(models.TextChoices):
        REGISTRATION = "registration"
        AUTHENTICATION = "authentication"

    id = models.CharField(max_length=64, primary_key=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    challenge = models.BinaryField()
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.purpose} challenge"
