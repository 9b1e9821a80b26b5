"""Pre-signed OCSP responses stored on the certificate's own row (``anchorid.common.pki.ocsp``).

For any Django model with the columns ``status``, ``revocation_reason``, ``ocsp_response`` and
``ocsp_next_update`` (``anchorid.jlis.models.Certificate``, ``anchorid.idp.deviceca.models.DeviceCertificate``);
each party signs with its own ``presign`` function and keeps its own table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, TypeVar

from django.db import models

Row = TypeVar("Row", bound=models.Model)
RowContra = TypeVar("RowContra", bound=models.Model, contravariant=True)


class Presign(Protocol[RowContra]):
    """A party's ``presign(certificate, now=...)``: sign and attach the stored response (the row is not saved)."""

    def __call__(self, certificate: RowContra, *, now: datetime | None = ...) -> None: ...


def store_refreshed(certificate: Row, presign: Presign[Row], now: datetime) -> bool:
    """Re-sign ``certificate``'s response and store it, unless its status changed meanwhile (then False)."""
    presign(certificate, now=now)
    row: Any = certificate
    # Conditional on the status we signed: a revocation committed meanwhile keeps its own (newer) response.
    updated = (
        type(certificate)
        ._default_manager.filter(pk=row.pk, status=row.status, revocation_reason=row.revocation_reason)
        .update(ocsp_response=row.ocsp_response, ocsp_next_update=row.ocsp_next_update)
    )
    return updated == 1


def refreshed_response(certificate: Row, presign: Presign[Row], now: datetime) -> bytes:
    """The re-signed stored response; if a revocation was committed meanwhile, the response it stored."""
    if not store_refreshed(certificate, presign, now):
        certificate.refresh_from_db()
    return bytes(getattr(certificate, "ocsp_response", None) or b"")
