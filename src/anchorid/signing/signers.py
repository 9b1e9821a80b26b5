"""pyHanko ``Signer``\\ s for the resident's keys: the My Number Card and a local key file (the wallet).

The card computes RSASSA-PKCS1-v1_5 over a SHA-256 DigestInfo (COMPUTE DIGITAL SIGNATURE): pyHanko hands us
the DER signed attributes, the card hashes and signs them. The signature password goes to the card only.
"""

from __future__ import annotations

from collections.abc import Sequence

from asn1crypto import algos as asn1_algos  # type: ignore[import-untyped]
from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.signers.pdf_cms import Signer, SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from anchorid.jpki.client import JPKICard
from anchorid.jpki.errors import CardError, InvalidPinFormat, PinBlocked, WrongPin
from anchorid.signing.errors import SigningFailed
from anchorid.signing.revinfo import to_asn1

#: RSA-2048 signature length: what a dry run reserves.
CARD_SIGNATURE_BYTES = 256
RSA_SHA256 = asn1_algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"})
ECDSA_SHA256 = asn1_algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})


def certificate_store(chain: Sequence[x509.Certificate]) -> SimpleCertificateStore:
    store: SimpleCertificateStore = SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
        [to_asn1(certificate) for certificate in chain]
    )
    return store


class CardSigner(Signer):
    """Sign with the card's signature key (署名用電子証明書), the card open in ``card``."""

    def __init__(
        self, card: JPKICard, pin: str, certificate: x509.Certificate, chain: Sequence[x509.Certificate] = ()
    ) -> None:
        super().__init__(
            signing_cert=to_asn1(certificate),
            cert_registry=certificate_store(chain),
            signature_mechanism=RSA_SHA256,
        )
        self._card = card
        self._pin = pin

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if dry_run:
            return bytes(CARD_SIGNATURE_BYTES)
        if digest_algorithm.lower() != "sha256":
            raise SigningFailed("card_error", f"the card signs SHA-256 only, not {digest_algorithm}")
        try:
            return self._card.sign(data, pin=self._pin)
        except (WrongPin, PinBlocked, InvalidPinFormat):
            raise
        except CardError as error:
            raise SigningFailed("card_error", f"the card did not sign: {error}") from None


def key_signer(
    key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate, chain: Sequence[x509.Certificate] = ()
) -> SimpleSigner:
    """pyHanko's own signer for a key in memory (the wallet's P-256 key): ECDSA with SHA-256."""
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return SimpleSigner(
        signing_cert=to_asn1(certificate),
        signing_key=asn1_keys.PrivateKeyInfo.load(der),
        cert_registry=certificate_store(chain),
        signature_mechanism=ECDSA_SHA256,
    )
