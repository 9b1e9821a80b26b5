"""The time-stamp authority's certificate (its key lives in the KeyStore under ``key_name``)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone


class TsaCertificate(models.Model):
    """A TSA signing certificate issued by the platform root. One is current; older ones stay for the record."""

    key_name = models.CharField(max_length=64, unique=True)
    der = models.BinaryField()
    serial = models.CharField(max_length=40, unique=True)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    current = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    #: This certificate's own CRL (``/pki/tsa/<serial>.crl``, signed by the root when the certificate is issued):
    #: it speaks for this certificate only and ends a day before it. None for certificates issued before that,
    #: whose status is the root CRL.
    crl_der = models.BinaryField(null=True, blank=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["current"], condition=models.Q(current=True), name="tsa_one_current"),
        ]

    def __str__(self) -> str:
        return f"TSA certificate {self.serial}"
