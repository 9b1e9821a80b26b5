"""The issuing CA's CRL (RFC 5280 §5), DER at ``/pki/issuing.crl``, re-signed on every revocation and hold.

Entries: revoked and held device certificates not yet expired, each with its reasonCode (§5.3.1;
``certificateHold`` for a suspended account) and invalidityDate (§5.3.2). A released hold simply leaves the
next CRL (full CRLs only; ``removeFromCRL`` is for delta CRLs, which we do not publish). The CRL carries a
monotonically increasing cRLNumber (§5.2.3) and the authorityKeyIdentifier (§5.2.1). nextUpdate is a day on.
The root's CRL (``/pki/root.crl``) is signed offline: see ``authority.resign_root_crl``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from django.db import transaction

from anchorid.idp.deviceca.authority import load_issuing_ca, now_utc, platform_certificate
from anchorid.idp.deviceca.keys import ca_keystore
from anchorid.idp.deviceca.models import DeviceCertificate, PlatformCertificate

CRL_CONTENT_TYPE = "application/pkix-crl"
CRL_VALIDITY = timedelta(days=1)
CRL_REFRESH_MARGIN = timedelta(hours=1)

Status = DeviceCertificate.Status


def _entry(certificate: DeviceCertificate) -> x509.RevokedCertificate:
    assert certificate.revoked_at is not None
    builder = (
        x509.RevokedCertificateBuilder()
        .serial_number(int(certificate.serial, 16))
        .revocation_date(certificate.revoked_at)
    )
    if certificate.revocation_reason and certificate.revocation_reason != x509.ReasonFlags.unspecified.value:
        builder = builder.add_extension(x509.CRLReason(x509.ReasonFlags(certificate.revocation_reason)), critical=False)
    return builder.add_extension(
        x509.InvalidityDate(certificate.revoked_at.replace(tzinfo=None)), critical=False
    ).build()


def regenerate_issuing_crl(*, now: datetime | None = None) -> bytes:
    """Build, sign and store the next issuing CRL (inside the caller's transaction, if any)."""
    now = now or now_utc()
    issuing = load_issuing_ca(ca_keystore())
    with transaction.atomic():
        row = PlatformCertificate.objects.select_for_update().get(pk=issuing.row.pk)
        row.crl_number += 1
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuing.certificate.subject)
            .last_update(now)
            .next_update(now + CRL_VALIDITY)
            .add_extension(x509.CRLNumber(row.crl_number), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                    issuing.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
                ),
                critical=False,
            )
        )
        listed = DeviceCertificate.objects.filter(
            issuer=row, status__in=[Status.REVOKED, Status.ON_HOLD], not_after__gt=now
        )
        for certificate in listed.order_by("serial").iterator():
            builder = builder.add_revoked_certificate(_entry(certificate))
        der = builder.sign(issuing.signer, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        row.crl_der = der
        row.crl_next_update = now + CRL_VALIDITY
        row.save(update_fields=["crl_number", "crl_der", "crl_next_update"])
    return der


def current_issuing_crl(*, now: datetime | None = None) -> bytes:
    """The stored issuing CRL, rebuilt first when there is none or its nextUpdate is near."""
    now = now or now_utc()
    row = platform_certificate(PlatformCertificate.Role.ISSUING)
    if row.crl_der is not None and row.crl_next_update and row.crl_next_update - now > CRL_REFRESH_MARGIN:
        return bytes(row.crl_der)
    return regenerate_issuing_crl(now=now)


def root_crl() -> bytes:
    """The root's CRL as last signed offline (``anchorid idp ca root-crl`` re-signs it)."""
    row = platform_certificate(PlatformCertificate.Role.ROOT)
    assert row.crl_der is not None
    return bytes(row.crl_der)
