"""Trust roots and J-LIS revocation data for signers and verifiers.

JPKI signature certificates name no OCSP responder and no CRL URL, so a signer cannot fetch their status
alone; the idp, which is configured with J-LIS's addresses, fetches the OCSP response and the CRL for them
(``POST /signing/validation-data``). The signer's own pyHanko validation checks both before embedding them: the
idp is a courier here, not a source of trust.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from anchorid.idp import jlis_client
from anchorid.idp.deviceca.authority import CaNotInitialised, platform_certificate
from anchorid.idp.deviceca.models import PlatformCertificate
from anchorid.jpki.profiles import CertKind
from anchorid.jpki.verify import RevocationUnavailable, fetch_crl, fetch_ocsp_response

CRL_PATH = {CertKind.SIGNATURE: "/crl/sign.crl"}


class ValidationDataUnavailable(Exception):
    def __init__(self, code: str, message: str, status: int = 503) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class JpkiValidationData:
    ocsp_responses: tuple[bytes, ...]
    crls: tuple[bytes, ...]
    issuer: x509.Certificate


def platform_root() -> x509.Certificate | None:
    try:
        return x509.load_der_x509_certificate(bytes(platform_certificate(PlatformCertificate.Role.ROOT).der))
    except CaNotInitialised:
        return None


def jpki_signature_roots() -> tuple[x509.Certificate, ...]:
    try:
        return jlis_client.trust_anchors().for_kind(CertKind.SIGNATURE)
    except (ValueError, OSError):
        return ()


def trust_roots() -> list[x509.Certificate]:
    """Everything a verifier here trusts: the configured JPKI signature roots and the platform root."""
    roots = list(jpki_signature_roots())
    root = platform_root()
    if root is not None:
        roots.append(root)
    return roots


def jpki_validation_data(certificate: x509.Certificate) -> JpkiValidationData:
    """J-LIS's OCSP response and CRL for a JPKI signature certificate issued by a configured root."""
    issuers = [root for root in jpki_signature_roots() if root.subject == certificate.issuer]
    issuer = next((root for root in issuers if _issued_by(certificate, root)), None)
    if issuer is None:
        raise ValidationDataUnavailable("untrusted_issuer", "not a JPKI signature certificate of a trusted CA", 422)
    try:
        ocsp_der, _ = fetch_ocsp_response(certificate, issuer, jlis_client.ocsp_responder(CertKind.SIGNATURE))
        crl_der = fetch_crl(jlis_client.base_url() + CRL_PATH[CertKind.SIGNATURE], jlis_client.timeout())
    except RevocationUnavailable as error:
        raise ValidationDataUnavailable("jlis_unavailable", f"J-LIS revocation data unavailable: {error}") from None
    return JpkiValidationData((ocsp_der,), (crl_der,), issuer)


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, Exception):  # InvalidSignature or an unsupported key type
        return False
    return True
