"""The issuing CA's CRL (RFC 5280 §5), DER at ``/pki/issuing.crl``, re-signed on every revocation and hold.

Entries: revoked and held device certificates not yet expired, each with its reasonCode (§5.3.1;
``certificateHold`` for a suspended account) and invalidityDate (§5.3.2). A released hold simply leaves the
next CRL (full CRLs only; ``removeFromCRL`` is for delta CRLs, which we do not publish). The CRL carries a
monotonically increasing cRLNumber (§5.2.3) and the authorityKeyIdentifier (§5.2.1). nextUpdate is a day on.
The root's CRL (``/pki/root.crl``) is signed offline: see ``authority.resign_root_crl``. The CRL itself is built
by the shared ``anchorid.common.pki.crl`` (the one jlis uses); this module chooses the entries and stores it.
"""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from django.db import transaction

from anchorid.common.pki.crl import CRL_CONTENT_TYPE, CRL_REFRESH_MARGIN, CRL_VALIDITY, revoked_entry, sign_crl
from anchorid.idp.deviceca.authority import load_issuing_ca, now_utc, platform_certificate
from anchorid.idp.deviceca.keys import ca_keystore
from anchorid.idp.deviceca.models import DeviceCertificate, PlatformCertificate

__all__ = ["CRL_CONTENT_TYPE", "CRL_VALIDITY", "current_issuing_crl", "regenerate_issuing_crl", "root_crl"]

Status = DeviceCertificate.Status


def _entry(certificate: DeviceCertificate) -> x509.RevokedCertificate:
    assert certificate.revoked_at is not None
    return revoked_entry(int(certificate.serial, 16), certificate.revoked_at, certificate.revocation_reason)


def regenerate_issuing_crl(*, now: datetime | None = None) -> bytes:
    """Build, sign and store the next issuing CRL (inside the caller's transaction, if any)."""
    now = now or now_utc()
    issuing = load_issuing_ca(ca_keystore())
    with transaction.atomic():
        row = PlatformCertificate.objects.select_for_update().get(pk=issuing.row.pk)
        row.crl_number += 1
        listed = DeviceCertificate.objects.filter(
            issuer=row, status__in=[Status.REVOKED, Status.ON_HOLD], not_after__gt=now
        )
        entries = (_entry(certificate) for certificate in listed.order_by("serial").iterator())
        der = sign_crl(issuing.certificate, issuing.signer, number=row.crl_number, entries=entries, now=now)
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
