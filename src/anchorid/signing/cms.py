"""Detached CMS signatures (CAdES-style, RFC 5652 + ETSI EN 319 122 B-T) for any file.

SignedData without encapsulated content; signed attributes content-type, message-digest, signing-time and ESS
signing-certificate-v2; the signature timestamp (RFC 3161 token over the signature value) as an unsigned
attribute; the signer's chain in ``certificates``. The file is hashed in 1 MiB chunks, so its size does not
matter for memory. ``openssl cms -verify -binary -inform DER -in FILE.p7s -content FILE -CAfile ROOTS`` checks
it; so does ``verify_detached`` (pyHanko).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Final

from asn1crypto import cms  # type: ignore[import-untyped]
from cryptography import x509
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import async_validate_detached_cms
from pyhanko_certvalidator import ValidationContext

from anchorid.signing import documents
from anchorid.signing.errors import DocumentRefused, SigningFailed
from anchorid.signing.revinfo import from_asn1, to_asn1
from anchorid.signing.verify import Signer as SignerDescription
from anchorid.signing.verify import describe_signer

#: A detached signature may cover a large file: it is streamed, so the limit is about disk, not memory.
MAX_FILE_BYTES: Final = 4 * 1024 * 1024 * 1024
MAX_SIGNATURE_BYTES: Final = 1024 * 1024


async def async_sign_detached(data: IO[bytes], signer: Signer, *, stamper: TimeStamper) -> bytes:
    """The DER ContentInfo of a detached CAdES-style signature over the stream's bytes."""
    size = documents.stream_size(data)
    if size > MAX_FILE_BYTES:
        raise DocumentRefused("too_large", f"the file is {size} bytes; the limit is {MAX_FILE_BYTES} bytes")
    data.seek(0)
    try:
        content_info = await signer.async_sign_general_data(
            data, "sha256", detached=True, use_cades=True, timestamper=stamper, chunk_size=documents.CHUNK_BYTES
        )
    except SigningFailed:
        raise
    except Exception as error:
        raise SigningFailed("signing_failed", f"signing failed: {error.__class__.__name__}: {error}") from error
    return bytes(content_info.dump())


def sign_detached(data: IO[bytes], signer: Signer, *, stamper: TimeStamper) -> bytes:
    return asyncio.run(async_sign_detached(data, signer, stamper=stamper))


@dataclass(frozen=True)
class DetachedReport:
    signer: SignerDescription
    intact: bool
    trusted: bool
    signing_time: datetime | None
    message: str

    @property
    def ok(self) -> bool:
        return self.intact and self.trusted


async def async_verify_detached(
    data: IO[bytes], signature: bytes, trust_roots: Sequence[x509.Certificate], *, moment: datetime | None = None
) -> DetachedReport:
    """Integrity, trust (online revocation check where the certificates allow it) and the timestamp's time."""
    if not signature or len(signature) > MAX_SIGNATURE_BYTES:
        raise DocumentRefused("not_a_signature", "the signature file is empty or too large")
    try:
        content_info = cms.ContentInfo.load(signature, strict=True)
        signed_data = content_info["content"]
        signed_data.native  # noqa: B018 - force a full parse
    except (ValueError, TypeError, KeyError):
        raise DocumentRefused("not_a_signature", "the signature file is not a DER CMS SignedData") from None
    context = ValidationContext(
        trust_roots=[to_asn1(root) for root in trust_roots], moment=moment, revocation_mode="soft-fail"
    )
    data.seek(0)
    status = await async_validate_detached_cms(
        data,
        signed_data,
        signer_validation_context=context,
        ts_validation_context=context,
        chunk_size=documents.CHUNK_BYTES,
    )
    timestamp = status.timestamp_validity
    return DetachedReport(
        signer=describe_signer(from_asn1(status.signing_cert)),
        intact=bool(status.intact and status.valid),
        trusted=bool(status.trusted),
        signing_time=timestamp.timestamp if timestamp is not None and timestamp.valid else None,
        message=status.summary(),
    )


def verify_detached(
    data: IO[bytes], signature: bytes, trust_roots: Sequence[x509.Certificate], *, moment: datetime | None = None
) -> DetachedReport:
    return asyncio.run(async_verify_detached(data, signature, trust_roots, moment=moment))
