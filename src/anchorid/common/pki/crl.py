"""Building a full CRL (RFC 5280 §5), the same way for every CA we run.

Each entry carries its reasonCode (§5.3.1; absent for ``unspecified``) and invalidityDate (§5.3.2); the CRL
carries the cRLNumber the caller keeps increasing (§5.2.3) and the issuer's authorityKeyIdentifier (§5.2.1).
Which certificates are listed, where the CRL number and the signed CRL are stored, and when it is re-signed
stay with each party (``anchorid.jlis.crl``, ``anchorid.idp.deviceca.crl``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from anchorid.common.pki.ocsp import reason_flag

CRL_CONTENT_TYPE = "application/pkix-crl"
#: thisUpdate → nextUpdate (J-LIS updates its CRL daily, DA-jpki §5.1.2).
CRL_VALIDITY = timedelta(days=1)
#: A served CRL is rebuilt when less than this is left before its nextUpdate.
CRL_REFRESH_MARGIN = timedelta(hours=1)


def revoked_entry(serial: int, revoked_at: datetime, reason: str | None) -> x509.RevokedCertificate:
    """One CRL entry: serial, revocationDate, reasonCode (unless unspecified), invalidityDate."""
    builder = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(revoked_at)
    flag = reason_flag(reason)
    if flag is not None:
        builder = builder.add_extension(x509.CRLReason(flag), critical=False)
    return builder.add_extension(x509.InvalidityDate(revoked_at.replace(tzinfo=None)), critical=False).build()


def sign_crl(
    issuer: x509.Certificate,
    key: CertificateIssuerPrivateKeyTypes,
    *,
    number: int,
    entries: Iterable[x509.RevokedCertificate],
    now: datetime,
    validity: timedelta = CRL_VALIDITY,
) -> bytes:
    """The DER CRL of ``issuer`` listing ``entries``, valid from ``now`` for ``validity``, signed with SHA-256."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(now)
        .next_update(now + validity)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            ),
            critical=False,
        )
    )
    for entry in entries:
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
