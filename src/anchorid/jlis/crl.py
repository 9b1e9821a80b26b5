"""A CRL per CA (RFC 5280 §5), DER over HTTP, regenerated on every revocation and on schedule.

Each entry carries its reasonCode (§5.3.1; absent for ``unspecified``) and invalidityDate (§5.3.2); the CRL
carries a monotonically increasing cRLNumber (§5.2.3) and the CA's authorityKeyIdentifier (§5.2.1). J-LIS
updates its CRL daily (DA-jpki §5.1.2): nextUpdate is a day after thisUpdate. The CRL itself is built by the
shared ``anchorid.common.pki.crl``; this module chooses the entries and stores the result.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from django.db import transaction

from anchorid.common.pki.crl import CRL_CONTENT_TYPE, CRL_REFRESH_MARGIN, CRL_VALIDITY, revoked_entry, sign_crl
from anchorid.jlis.authority import ensure_authority, load_authority
from anchorid.jlis.models import Certificate, CertificateAuthority, CertificateKind

__all__ = ["CRL_CONTENT_TYPE", "CRL_VALIDITY", "current_crl", "regenerate_crl"]


def _entry(certificate: Certificate) -> x509.RevokedCertificate:
    assert certificate.revoked_at is not None
    return revoked_entry(certificate.serial, certificate.revoked_at, certificate.revocation_reason)


def regenerate_crl(kind: CertificateKind | str, *, now: datetime | None = None) -> bytes:
    """Build, sign and store the next CRL of ``kind`` (inside the caller's transaction, if any)."""
    kind = CertificateKind(kind)
    now = now or datetime.now(UTC).replace(microsecond=0)
    ensure_authority(kind)
    authority = load_authority(kind)
    with transaction.atomic():
        row = CertificateAuthority.objects.select_for_update().get(kind=kind)
        row.crl_number += 1
        # Expired certificates leave the CRL (RFC 5280 §3.3 permits it once they are past notAfter).
        revoked = Certificate.objects.filter(kind=kind, status=Certificate.Status.REVOKED, not_after__gt=now)
        entries = (_entry(certificate) for certificate in revoked.order_by("serial").iterator())
        der = sign_crl(authority.certificate, authority.key, number=row.crl_number, entries=entries, now=now)
        row.crl_der = der
        row.crl_next_update = now + CRL_VALIDITY
        row.save(update_fields=["crl_number", "crl_der", "crl_next_update"])
    return der


def current_crl(kind: CertificateKind | str, *, now: datetime | None = None) -> bytes:
    """The stored CRL of ``kind``, rebuilt first if there is none or its nextUpdate is near."""
    kind = CertificateKind(kind)
    now = now or datetime.now(UTC).replace(microsecond=0)
    row = CertificateAuthority.objects.filter(kind=kind).values("crl_der", "crl_next_update").first()
    if (
        row
        and row["crl_der"] is not None
        and row["crl_next_update"]
        and row["crl_next_update"] - now > CRL_REFRESH_MARGIN
    ):
        return bytes(row["crl_der"])
    return regenerate_crl(kind, now=now)
