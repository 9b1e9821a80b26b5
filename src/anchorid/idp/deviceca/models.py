"""The platform CA's certificates, the device certificates it issued, and one-time wallet challenges.

Device certificates carry no personal data; the row links the opaque certificate subject to its account.
Serial numbers are 159 random bits (RFC 5280 §4.1.2.2: positive, at most 20 octets), stored as 40 hex digits.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from anchorid.idp.accounts.models import Account

SERIAL_HEX_DIGITS = 40


def serial_hex(serial: int) -> str:
    """The stored form of a serial number: 40 lowercase hex digits."""
    return f"{serial:0{SERIAL_HEX_DIGITS}x}"


class PlatformCertificate(models.Model):
    """A certificate of the platform CA itself: the root, the issuing CA, or a delegated OCSP responder.

    Root and issuing rows also hold their current CRL. ``key_name`` names the key in the KeyStore.
    """

    class Role(models.TextChoices):
        ROOT = "root"
        ISSUING = "issuing"
        OCSP_RESPONDER = "ocsp"

    role = models.CharField(max_length=16, choices=Role.choices)
    key_name = models.CharField(max_length=64, unique=True)
    der = models.BinaryField()
    serial = models.CharField(max_length=SERIAL_HEX_DIGITS, unique=True)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    current = models.BooleanField(default=True)
    base_url = models.CharField(max_length=200, help_text="the idp URL written into AIA and CRLDP")
    crl_number = models.PositiveBigIntegerField(default=0)
    crl_der = models.BinaryField(null=True, blank=True)
    crl_next_update = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["role"], condition=models.Q(current=True), name="deviceca_one_current_role"
            ),
        ]

    def __str__(self) -> str:
        return f"platform {self.role} {self.serial}"


class DeviceCertificate(models.Model):
    """A certificate the issuing CA signed for a wallet key."""

    class Status(models.TextChoices):
        GOOD = "good"
        ON_HOLD = "on_hold"  # certificateHold while the account is suspended; released on resume
        REVOKED = "revoked"

    class EnrolledWith(models.TextChoices):
        CARD = "card"
        SESSION = "session"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="device_certificates")
    issuer = models.ForeignKey(PlatformCertificate, on_delete=models.PROTECT, related_name="issued")
    subject_id = models.CharField(max_length=64, unique=True, help_text="the certificate's opaque CN")
    serial = models.CharField(max_length=SERIAL_HEX_DIGITS, unique=True)
    fingerprint = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the certificate")
    public_key_fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the SubjectPublicKeyInfo")
    der = models.BinaryField()
    device_name = models.CharField(max_length=64, blank=True)
    acr = models.CharField(max_length=64)
    enrolled_with = models.CharField(max_length=16, choices=EnrolledWith.choices)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.GOOD)
    revocation_reason = models.CharField(max_length=32, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    ocsp_response = models.BinaryField(null=True, blank=True)
    ocsp_next_update = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["account", "status"])]

    def __str__(self) -> str:
        return f"device certificate {self.subject_id} ({self.status})"

    @property
    def credential_id(self) -> str:
        """How sessions and the audit log name this credential."""
        return self.subject_id


class WalletChallenge(models.Model):
    """A one-time challenge (256 bits) for enrolling a wallet key with the card, or for a wallet login.

    Only its SHA-256 is stored; spending it is one conditional UPDATE, so it is used at most once.
    """

    class Purpose(models.TextChoices):
        ENROLL = "enroll"
        LOGIN = "login"

    challenge_hash = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"wallet challenge ({self.purpose})"
