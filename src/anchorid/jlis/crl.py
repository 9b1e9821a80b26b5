"""A CRL per CA (RFC 5280 §5), DER over HTTP, regenerated on every revocation and on schedule.

Each entry carries its reasonCode (§5.3.1; absent for ``unspecified``) and invalidityDate (§5.3.2); the CRL
carries a monotonically increasing cRLNumber (§5.2.3) and the CA's authorityKeyIdentifier (§5.2.1). J-LIS
updates its CRL daily (DA-jpki §5.1.2): nextUpdate is a day after thisUpdate.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from django.db import transaction

from anchorid.jlis.authority import ensure_authority, load_authority
from anchorid.jlis.models import Certificate, CertificateAuthority, CertificateKind

CRL_CONTENT_TYPE = "application/pkix-crl"
CRL_VALIDITY = timedelta(days=1)
#: The served CRL is rebuilt when less than this is left before its nextUpdate.
CRL_REFRESH_MARGIN = timedelta(hours=1)


def _entry(certificate: Certificate) -> x509.RevokedCertificate:
    assert certificate.revoked_at is not None
    builder = x509.RevokedCertificateBuilder().serial_number(certificate.serial).revocation_date(certificate.revoked_at)
    if certificate.revocation_reason and certificate.revocation_reason != Certificate.Reason.UNSPECIFIED:
        builder = builder.add_extension(x509.CRLReason(x509.ReasonFlags(certificate.revocation_reason)), critical=False)
    builder = builder.add_extension(x509.InvalidityDate(certificate.revoked_at.replace(tzinfo=None)), critical=False)
    return builder.build()


def regenerate_crl(kind: CertificateKind | str, *, now: datetime | None = None) -> bytes:
    """Build, sign and store the next CRL of ``kind`` (inside the caller's transaction, if any)."""
    kind = CertificateKind(kind)
    now = now or datetime.now(UTC).replace(microsecond=0)
    ensure_authority(kind)
    authority = load_authority(kind)
    with transaction.atomic():
        row = CertificateAuthority.objects.select_for_update().get(kind=kind)
        row.crl_number += 1
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(authority.certificate.subject)
            .last_update(now)
            .next_update(now + CRL_VALIDITY)
            .add_extension(x509.CRLNumber(row.crl_number), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                    authority.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
                ),
                critical=False,
            )
        )
        # Expired certificates leave the CRL (RFC 5280 §3.3 permits it once they are past notAfter).
        revoked = Certificate.objects.filter(kind=kind, status=Certificate.Status.REVOKED, not_after__gt=now)
        for certificate in revoked.order_by("serial").iterator():
            builder = builder.add_revoked_certificate(_entry(certificate))
        der = builder.sign(authority.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
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
