"""PAdES B-LTA with pyHanko: one go (a key at hand), two steps (an external signature), archive renewal.

B-LTA, as written here: the signature (SubFilter ETSI.CAdES.detached, signed attributes content-type,
message-digest, ESS signing-certificate-v2) with a signature timestamp from our TSA as an unsigned attribute
(B-T); the certificates, OCSP responses and CRLs of every certificate involved in the DSS (B-LT); then a
document timestamp over all of it (B-LTA). ``extend`` adds the DSS data for the last document timestamp and a
new one on top, before that timestamp's certificate expires (ETSI EN 319 142-1 §5.5).

The two-step form (``prepare_pdf`` → the signer signs ``signed_attributes(...)`` elsewhere → ``finish_pdf``) is
pyHanko's interrupted signing: the document digest is computed over the prepared revision, the signed
attributes over that digest and the signer's certificate, and only their SHA-256 is what the key signs.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Final

from asn1crypto import cms  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields
from pyhanko.sign.general import SigningError as PyhankoSigningError
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_cms import ExternalSigner, Signer
from pyhanko.sign.signers.pdf_signer import (
    PdfSignatureMetadata,
    PdfSigner,
    PdfTBSDocument,
    PdfTimeStamper,
    PostSignInstructions,
    PreSignValidationStatus,
)
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

from anchorid.signing import documents, stamps
from anchorid.signing.errors import DocumentRefused, SigningFailed
from anchorid.signing.revinfo import to_asn1
from anchorid.signing.signers import ECDSA_SHA256, RSA_SHA256, certificate_store

DIGEST: Final = "sha256"
#: Room for the CMS (hex doubles it) in the two-step form: signer chain, signature, timestamp token and chain.
RESERVED_CMS_BYTES: Final = 32 * 1024
SIGNER_KEY_USAGE: Final = {"non_repudiation"}
TSA_TIMEOUT_SECONDS: Final = 15


def timestamper(tsa_url: str) -> TimeStamper:
    return HTTPTimeStamper(tsa_url, timeout=TSA_TIMEOUT_SECONDS)


def new_field_name() -> str:
    return f"AnchorID-Signature-{uuid.uuid4().hex[:12]}"


def _metadata(
    field_name: str, context: ValidationContext | None, *, reason: str | None, embed: bool
) -> PdfSignatureMetadata:
    return PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm=DIGEST,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        embed_validation_info=embed,
        use_pades_lta=embed,
        validation_context=context,
        signer_key_usage=SIGNER_KEY_USAGE,
    )


def _pdf_signer(
    meta: PdfSignatureMetadata, signer: Signer, stamper: TimeStamper | None, stamp: stamps.Stamp | None
) -> PdfSigner:
    if stamp is None:
        return PdfSigner(meta, signer=signer, timestamper=stamper)
    return PdfSigner(
        meta,
        signer=signer,
        timestamper=stamper,
        stamp_style=stamps.style(stamp),
        new_field_spec=fields.SigFieldSpec(meta.field_name or new_field_name(), box=stamp.box, on_page=stamp.page),
    )


async def _writer(source: IO[bytes]) -> IncrementalPdfFileWriter:
    await documents.async_check_existing_signatures(documents.open_pdf(source))
    source.seek(0)
    return IncrementalPdfFileWriter(source, strict=True)


def _wrap(error: Exception) -> SigningFailed:
    if isinstance(error, SigningFailed):
        return error
    cause = error.__cause__
    if isinstance(error, PyhankoSigningError) and isinstance(cause, (PathBuildingError, PathValidationError)):
        return SigningFailed("certificate_invalid", "the signer's certificate does not validate now (revoked?)")
    return SigningFailed("signing_failed", f"signing failed: {error.__class__.__name__}: {error}")


async def async_sign_pdf(
    source: IO[bytes],
    output: IO[bytes],
    signer: Signer,
    *,
    stamper: TimeStamper,
    context: ValidationContext,
    field_name: str | None = None,
    reason: str | None = None,
    stamp: stamps.Stamp | None = None,
) -> None:
    """Sign ``source`` into ``output`` as PAdES B-LTA with a key at hand (card or key file)."""
    writer = await _writer(source)
    meta = _metadata(field_name or new_field_name(), context, reason=reason, embed=True)
    try:
        await _pdf_signer(meta, signer, stamper, stamp).async_sign_pdf(writer, output=output)
    except DocumentRefused:
        raise
    except Exception as error:
        raise _wrap(error) from error


def sign_pdf(source: IO[bytes], output: IO[bytes], signer: Signer, **options: object) -> None:
    asyncio.run(async_sign_pdf(source, output, signer, **options))  # type: ignore[arg-type]


# --- two steps ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedPdf:
    """What ``finish_pdf`` needs besides the prepared bytes: the digest and where the CMS goes."""

    document_digest: bytes
    reserved_region_start: int
    reserved_region_end: int
    field_name: str

    def byte_range_digest(self) -> PreparedByteRangeDigest:
        return PreparedByteRangeDigest(self.document_digest, self.reserved_region_start, self.reserved_region_end)


async def async_prepare_pdf(
    source: IO[bytes],
    output: IO[bytes],
    *,
    field_name: str | None = None,
    reason: str | None = None,
    stamp: stamps.Stamp | None = None,
) -> PreparedPdf:
    """Write the revision to be signed (placeholder included) to ``output``; return its ByteRange digest."""
    writer = await _writer(source)
    name = field_name or new_field_name()
    meta = _metadata(name, None, reason=reason, embed=False)
    placeholder = ExternalSigner(None, None, signature_value=bytes(256), signature_mechanism=RSA_SHA256)
    try:
        prepared, _, _ = await _pdf_signer(meta, placeholder, None, stamp).async_digest_doc_for_signing(
            writer, bytes_reserved=RESERVED_CMS_BYTES, output=output
        )
    except Exception as error:
        raise _wrap(error) from error
    return PreparedPdf(prepared.document_digest, prepared.reserved_region_start, prepared.reserved_region_end, name)


def _external_signer(
    certificate: x509.Certificate, chain: Sequence[x509.Certificate], signature: bytes
) -> ExternalSigner:
    key = certificate.public_key()
    mechanism = RSA_SHA256 if isinstance(key, rsa.RSAPublicKey) else ECDSA_SHA256
    return ExternalSigner(
        to_asn1(certificate), certificate_store(chain), signature_value=signature, signature_mechanism=mechanism
    )


async def async_signed_attributes(document_digest: bytes, certificate: x509.Certificate) -> bytes:
    """The DER CMS signed attributes (PAdES: content-type, message-digest, signing-certificate-v2) to sign."""
    signer = _external_signer(certificate, (), b"")
    attributes = await signer.signed_attrs(document_digest, DIGEST, use_pades=True)
    return bytes(attributes.dump())


def signed_attributes(document_digest: bytes, certificate: x509.Certificate) -> bytes:
    return asyncio.run(async_signed_attributes(document_digest, certificate))


def check_signed_attributes(
    der: bytes, document_digest: bytes, certificate: x509.Certificate, signature: bytes
) -> cms.CMSAttributes:
    """Refuse attributes that are not over this digest and this certificate, or a signature that does not verify."""
    try:
        attributes = cms.CMSAttributes.load(der, strict=True)
        by_type = {attribute["type"].native: attribute["values"] for attribute in attributes}
        message_digest = by_type["message_digest"][0].native
        content_type = by_type["content_type"][0].native
        signing_certificate = by_type["signing_certificate_v2"][0]
        cert_hash = signing_certificate["certs"][0]["cert_hash"].native
    except (ValueError, KeyError, IndexError, TypeError):
        raise SigningFailed("bad_signed_attributes", "the signed attributes do not parse") from None
    if content_type != "data" or message_digest != document_digest:
        raise SigningFailed("digest_mismatch", "the signed attributes are not over this document")
    fingerprint = hashes.Hash(hashes.SHA256())
    fingerprint.update(to_asn1(certificate).dump())
    if cert_hash != fingerprint.finalize():
        raise SigningFailed("certificate_mismatch", "the signed attributes name another certificate")
    key = certificate.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, der, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, der, ec.ECDSA(hashes.SHA256()))
        else:
            raise SigningFailed("unsupported_key", "only RSA and EC signer keys are supported")
    except InvalidSignature:
        raise SigningFailed("signature_mismatch", "the signature does not verify under the certificate") from None
    return attributes


async def _presign_status(
    certificate: x509.Certificate, chain: Sequence[x509.Certificate], context: ValidationContext, stamper: TimeStamper
) -> PreSignValidationStatus:
    """Validate the signer and the TSA now, so their revocation data is collected for the DSS."""
    validator = CertificateValidator(
        to_asn1(certificate), intermediate_certs=[to_asn1(c) for c in chain], validation_context=context
    )
    try:
        signer_path = await validator.async_validate_usage(SIGNER_KEY_USAGE)  # type: ignore[no-untyped-call]
    except (PathBuildingError, PathValidationError) as error:
        raise SigningFailed("certificate_invalid", "the signer's certificate does not validate now") from error
    tsa_paths = [path async for path in stamper.validation_paths(context)]  # type: ignore[no-untyped-call]
    return PreSignValidationStatus(
        signer_path=signer_path,
        validation_paths=[signer_path, *tsa_paths],
        ts_validation_paths=tsa_paths,
        ocsps_to_embed=context.ocsps,
        crls_to_embed=context.crls,
    )


async def async_finish_pdf(
    prepared_output: IO[bytes],
    prepared: PreparedPdf,
    *,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    signed_attributes_der: bytes,
    signature: bytes,
    stamper: TimeStamper,
    context: ValidationContext,
) -> None:
    """Put the external signature in (with its signature timestamp), then the DSS and a document timestamp."""
    attributes = check_signed_attributes(signed_attributes_der, prepared.document_digest, certificate, signature)
    try:
        status = await _presign_status(certificate, chain, context, stamper)
        cms_object = await _external_signer(certificate, chain, signature).async_sign_prescribed_attributes(
            DIGEST, attributes, timestamper=stamper
        )
        await PdfTBSDocument.async_finish_signing(
            prepared_output,
            prepared.byte_range_digest(),
            cms_object,
            post_sign_instr=PostSignInstructions(
                validation_info=status, timestamper=stamper, timestamp_md_algorithm=DIGEST
            ),
            validation_context=context,
        )
    except Exception as error:
        raise _wrap(error) from error


# --- archive renewal ------------------------------------------------------------------------------------------


async def async_extend_pdf(
    source: IO[bytes], output: IO[bytes], *, stamper: TimeStamper, context: ValidationContext
) -> None:
    """Add the last document timestamp's validation data and a new document timestamp (PAdES B-LTA renewal)."""
    reader = documents.open_pdf(source)
    await documents.async_check_existing_signatures(reader)
    if not reader.embedded_signatures:
        raise DocumentRefused("not_signed", "the PDF has no signature or document timestamp to extend")
    try:
        await PdfTimeStamper(stamper).async_update_archival_timestamp_chain(
            reader, context, in_place=False, output=output
        )
    except Exception as error:
        raise _wrap(error) from error
