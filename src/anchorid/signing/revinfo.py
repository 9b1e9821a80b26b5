"""Validation contexts for signing (what gets embedded) and certificates in pyHanko's (asn1crypto) form.

JPKI certificates carry no AIA and a directoryName CRL distribution point (docs/jpki-certificates.md), so no
validator can fetch their revocation data by itself: the signer passes J-LIS's OCSP response and CRL in
explicitly (``ocsps``/``crls``), and pyHanko embeds them in the DSS. Platform certificates (the wallet's
signing certificate, the TSA) name their OCSP responder and CRL, which pyHanko fetches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from asn1crypto import crl as asn1_crl  # type: ignore[import-untyped]
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend


def to_asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def from_asn1(certificate: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(certificate.dump())


def load_pem_certificates(data: bytes) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(data)


def signing_context(
    trust_roots: Sequence[x509.Certificate],
    *,
    other_certs: Iterable[x509.Certificate] = (),
    ocsps: Iterable[bytes] = (),
    crls: Iterable[bytes] = (),
    allow_fetching: bool = True,
    moment: datetime | None = None,
) -> ValidationContext:
    """The context pyHanko validates the signer (and the TSA) with before signing, collecting what to embed.
    ``moment`` (default: the clock) is "now" for that validation (archive renewal run at a given time)."""
    return ValidationContext(
        moment=moment,
        trust_roots=[to_asn1(root) for root in trust_roots],
        other_certs=[to_asn1(certificate) for certificate in other_certs],
        ocsps=[asn1_ocsp.OCSPResponse.load(response) for response in ocsps],
        crls=[asn1_crl.CertificateList.load(crl) for crl in crls],
        allow_fetching=allow_fetching,
        revocation_mode="require",
        # requests, like the rest of AnchorID (pyHanko's default aiohttp backend leaves sessions to close).
        fetcher_backend=RequestsFetcherBackend() if allow_fetching else None,
    )


def point_in_time_context(trust_roots: Sequence[x509.Certificate], moment: datetime) -> ValidationContext:
    """Offline validation at ``moment`` (no fetching): used to check embedded data at a given time."""
    return ValidationContext(
        trust_roots=[to_asn1(root) for root in trust_roots],
        moment=moment,
        allow_fetching=False,
        revocation_mode="hard-fail",
        retroactive_revinfo=True,
    )
