"""Document-signing certificates of wallet keys, and documents being signed from the portal.

A wallet's signing certificate is stored as a ``deviceca.DeviceCertificate`` row (so the platform's OCSP
responder, CRL, holds on suspension and revocation cover it unchanged); ``SigningCertificate`` marks that row
as a signing certificate and links it to the authentication certificate of the same key.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from anchorid.idp.accounts.models import Account
from anchorid.idp.deviceca.models import DeviceCertificate


class SigningCertificate(models.Model):
    certificate = models.OneToOneField(DeviceCertificate, on_delete=models.CASCADE, related_name="signing_profile")
    authentication_certificate = models.ForeignKey(
        DeviceCertificate, on_delete=models.CASCADE, related_name="signing_certificates"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"signing certificate {self.certificate.subject_id}"


class SigningRequest(models.Model):
    """A document prepared for signing from the portal. The bytes live in the work folder, not in the database;
    the file name is not stored (only its SHA-256), and both files are deleted after download or expiry."""

    class Status(models.TextChoices):
        PREPARED = "prepared"
        SIGNED = "signed"

    public_id = models.CharField(max_length=64, unique=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="signing_requests")
    document_sha256 = models.CharField(max_length=64)
    document_digest = models.CharField(max_length=64, help_text="hex SHA-256 of the prepared ByteRange")
    reserved_region_start = models.PositiveBigIntegerField()
    reserved_region_end = models.PositiveBigIntegerField()
    field_name = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREPARED)
    #: A wallet approves with this one-time code (stored hashed).
    approval_code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"signing request {self.public_id} ({self.status})"
