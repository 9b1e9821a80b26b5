"""The account: one per person, anchored on the JPKI signature certificate that proved who they are.

- ``Account`` is also Django's user model, so sessions, CSRF-protected forms and the admin work as usual.
  Residents have no password (they log in with the card, a passkey or the wallet key); staff accounts do.
- ``AnchorCertificate`` records each signature certificate that anchored the account (serial, issuer,
  validity, fingerprint -- never the certificate's personal data in clear). Exactly one is current. The pair
  (issuer, serial) is unique across all accounts: the database itself refuses a second account on one card.
- The four attributes are stored only encrypted (``attribute_crypto``); ``person_key`` is unique, so the same
  person with identical attributes on a re-issued card is found, not registered twice.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from anchorid.idp.accounts import attribute_crypto
from anchorid.jpki.attributes import BasicFourInfo


class AccountManager(BaseUserManager["Account"]):
    def create_user(self, handle: str, password: str | None = None, **extra: Any) -> Account:
        account = self.model(handle=handle, **extra)
        if password:
            account.set_password(password)
        else:
            account.set_unusable_password()
        account.save(using=self._db)
        return account

    def create_superuser(self, handle: str, password: str | None = None, **extra: Any) -> Account:
        extra.update(is_staff=True, is_superuser=True, kind=Account.Kind.STAFF)
        return self.create_user(handle, password, **extra)


class Account(AbstractBaseUser, PermissionsMixin):
    class Kind(models.TextChoices):
        RESIDENT = "resident"
        STAFF = "staff"

    class Status(models.TextChoices):
        ACTIVE = "active"
        SUSPENDED = "suspended"
        DELETED = "deleted"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    handle = models.CharField(max_length=150, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.RESIDENT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    is_staff = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=64, blank=True)
    preferred_language = models.CharField(max_length=8, default="ja")

    person_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    attributes_ciphertext = models.BinaryField(null=True, blank=True)
    attributes_verified_at = models.DateTimeField(null=True, blank=True)
    attributes_verified_how = models.CharField(max_length=64, blank=True)
    attributes_stale_since = models.DateTimeField(null=True, blank=True)
    attributes_stale_reason = models.CharField(max_length=32, blank=True)

    objects: ClassVar[AccountManager] = AccountManager()

    USERNAME_FIELD = "handle"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.status != self.Status.DELETED

    @property
    def is_suspended(self) -> bool:
        return self.status == self.Status.SUSPENDED

    @property
    def attributes_stale(self) -> bool:
        return self.attributes_stale_since is not None

    def set_attributes(self, info: BasicFourInfo, *, verified_how: str, verified_at: Any = None) -> None:
        """Store the attributes encrypted, with when and how they were verified; clears a stale mark."""
        self.attributes_ciphertext = attribute_crypto.encrypt_attributes(info)
        self.person_key = attribute_crypto.person_key(info)
        self.attributes_verified_at = verified_at or timezone.now()
        self.attributes_verified_how = verified_how
        self.attributes_stale_since = None
        self.attributes_stale_reason = ""

    def attributes(self) -> BasicFourInfo | None:
        if self.attributes_ciphertext is None:
            return None
        return attribute_crypto.decrypt_attributes(bytes(self.attributes_ciphertext))

    def current_anchor(self) -> AnchorCertificate | None:
        return self.anchors.filter(current=True).first()


class AnchorCertificate(models.Model):
    """A JPKI signature certificate that anchored an account."""

    class Status(models.TextChoices):
        GOOD = "good"
        REVOKED = "revoked"
        EXPIRED = "expired"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="anchors")
    issuer_fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the issuing CA certificate")
    serial = models.CharField(max_length=64, help_text="decimal serial number (発行番号)")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the certificate")
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    current = models.BooleanField(default=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.GOOD)
    revocation_reason = models.CharField(max_length=32, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(default=timezone.now)
    anchored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["issuer_fingerprint", "serial"], name="anchor_unique_certificate"),
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(current=True), name="anchor_one_current_per_account"
            ),
        ]

    def __str__(self) -> str:
        return f"anchor {self.serial} ({self.status})"
