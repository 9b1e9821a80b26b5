"""What we accept as a document, checked before anything is signed or written.

Refusal codes (``DocumentRefused.code``), stable:

- ``too_large``: over the size limit (checked from the size alone, before reading);
- ``not_pdf``: no ``%PDF-`` header;
- ``corrupt``: pyHanko cannot read it (strict parsing: xref table, trailer, objects);
- ``encrypted``: password- or certificate-protected (we would have to decrypt to sign, and a verifier could not
  read it without the password);
- ``broken_signature``: an existing signature or document timestamp does not match its bytes (a new signature
  would seal a document that is already damaged).

Hashing is streamed in fixed chunks, so memory does not grow with the file.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from typing import IO, Final

from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext

from anchorid.signing.errors import DocumentRefused

#: Largest PDF we sign or verify (a signature request is for a form or a contract, not an archive).
MAX_PDF_BYTES: Final = 50 * 1024 * 1024
CHUNK_BYTES: Final = 1024 * 1024
PDF_MAGIC: Final = b"%PDF-"
#: pdf header may be preceded by a little garbage (ISO 32000-1 §7.5.2 readers tolerate up to 1024 bytes).
HEADER_WINDOW: Final = 1024


def stream_size(stream: IO[bytes]) -> int:
    position = stream.tell()
    size = stream.seek(0, os.SEEK_END)
    stream.seek(position)
    return size


def sha256_stream(stream: IO[bytes]) -> str:
    """Hex SHA-256 of the whole stream, read in chunks; leaves the stream at its start."""
    digest = hashlib.sha256()
    stream.seek(0)
    while chunk := stream.read(CHUNK_BYTES):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def check_size(size: int, limit: int = MAX_PDF_BYTES) -> None:
    if size > limit:
        raise DocumentRefused("too_large", f"the document is {size} bytes; the limit is {limit} bytes")
    if size == 0:
        raise DocumentRefused("not_pdf", "the document is empty")


def open_pdf(stream: IO[bytes], *, limit: int = MAX_PDF_BYTES) -> PdfFileReader:
    """Open a PDF for signing or verification, or raise ``DocumentRefused`` with a code."""
    check_size(stream_size(stream), limit)
    stream.seek(0)
    if PDF_MAGIC not in stream.read(HEADER_WINDOW):
        raise DocumentRefused("not_pdf", "this is not a PDF (no %PDF- header)")
    stream.seek(0)
    try:
        reader = PdfFileReader(stream, strict=True)
        encrypted = reader.security_handler is not None
        if not encrypted:
            reader.root  # noqa: B018 - resolves the catalog: a file whose objects do not parse fails here
    except (PdfError, ValueError, KeyError, TypeError, IndexError, EOFError, AttributeError) as error:
        raise DocumentRefused("corrupt", "the PDF cannot be read (damaged or not well-formed)") from error
    if encrypted:
        raise DocumentRefused("encrypted", "the PDF is encrypted; remove the password protection first")
    return reader


async def async_check_existing_signatures(reader: PdfFileReader) -> None:
    """Refuse a PDF carrying a signature or document timestamp that no longer matches its bytes."""
    try:
        await _check_existing(reader)
    except DocumentRefused:
        raise
    except Exception as error:  # pyHanko raises many kinds on a mangled signature dictionary
        raise DocumentRefused("broken_signature", "an existing signature in the PDF cannot be read") from error


async def _check_existing(reader: PdfFileReader) -> None:
    # Trust does not matter here, only whether each signature still matches the bytes it covers.
    context = ValidationContext(trust_roots=[], allow_fetching=False, revocation_mode="soft-fail")
    for signature in reader.embedded_regular_signatures:
        status = await async_validate_pdf_signature(signature, signer_validation_context=context, skip_diff=True)
        if not (status.intact and status.valid):
            raise DocumentRefused("broken_signature", "an existing signature in the PDF does not match the document")
    for timestamp in reader.embedded_timestamp_signatures:
        ts_status = await async_validate_pdf_timestamp(timestamp, validation_context=context)
        if not (ts_status.intact and ts_status.valid):
            raise DocumentRefused("broken_signature", "an existing document timestamp does not match the document")


def check_existing_signatures(reader: PdfFileReader) -> None:
    asyncio.run(async_check_existing_signatures(reader))


def open_pdf_for_signing(stream: IO[bytes], *, limit: int = MAX_PDF_BYTES) -> PdfFileReader:
    reader = open_pdf(stream, limit=limit)
    check_existing_signatures(reader)
    return reader
