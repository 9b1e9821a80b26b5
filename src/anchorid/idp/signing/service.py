"""Signing inside the idp: its own TSA in-process, and the revocation data it already holds.

The idp does not call itself over HTTP (a worker waiting on another worker): its TSA answers in-process
(``LocalTimeStamper``, the same ``rfc3161`` code ``POST /tsa`` runs), the wallet signing certificate's OCSP
response is the pre-signed one stored with it, the TSA's status is its own CRL (the root CRL speaks for the
issuing CA), and J-LIS is asked for JPKI certificates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from asn1crypto import tsp  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator import ValidationContext

from anchorid.idp.deviceca import crl as deviceca_crl
from anchorid.idp.deviceca import ocsp as deviceca_ocsp
from anchorid.idp.deviceca.authority import chain_pem
from anchorid.idp.deviceca.keys import ca_keystore
from anchorid.idp.deviceca.models import DeviceCertificate
from anchorid.idp.signing import validation_data
from anchorid.idp.tsa import rfc3161
from anchorid.idp.tsa.authority import load_tsa, tsa_crls
from anchorid.signing.revinfo import signing_context


class LocalTimeStamper(TimeStamper):
    """pyHanko's timestamper interface over our own TSA, without HTTP. ``now`` fixes the genTime (default: the
    clock), for work done at a given time (archive renewal in tests that move the clock)."""

    def __init__(self, *, now: datetime | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        # Loaded here, outside the event loop: Django's ORM refuses to run inside one.
        self._tsa = load_tsa(ca_keystore())
        self._now = now

    @property
    def certificate(self) -> x509.Certificate:
        return self._tsa.certificate

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        answer = await rfc3161.async_respond(req.dump(), lambda: self._tsa, now=self._now)
        return tsp.TimeStampResp.load(answer)


@dataclass(frozen=True)
class SignerMaterial:
    """A signer's chain and the context that validates it (and our TSA) with the data to embed."""

    chain: list[x509.Certificate]
    context: ValidationContext


def _platform_chain() -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(chain_pem())


def card_material(certificate: x509.Certificate) -> SignerMaterial:
    """For a JPKI signature certificate: J-LIS's OCSP response and CRL (raises ValidationDataUnavailable)."""
    data = validation_data.jpki_validation_data(certificate)
    platform = _platform_chain()
    context = signing_context(
        validation_data.trust_roots(),
        other_certs=[data.issuer, *platform],
        ocsps=data.ocsp_responses,
        crls=[*data.crls, deviceca_crl.root_crl(), *tsa_crls()],
        allow_fetching=False,
    )
    return SignerMaterial([data.issuer], context)


def wallet_material(record: DeviceCertificate) -> SignerMaterial:
    """For a wallet signing certificate: its stored OCSP response, the issuing and root CRLs."""
    platform = _platform_chain()
    certificate = x509.load_der_x509_certificate(bytes(record.der))
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, platform[0], hashes.SHA1()).build()  # noqa: S303
    responses = [deviceca_ocsp.respond(request.public_bytes(serialization.Encoding.DER))]
    context = signing_context(
        validation_data.trust_roots(),
        other_certs=platform,
        ocsps=responses,
        crls=[deviceca_crl.current_issuing_crl(), deviceca_crl.root_crl(), *tsa_crls()],
        allow_fetching=False,
    )
    return SignerMaterial(platform, context)
