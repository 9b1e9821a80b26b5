"""The reader's content: short-lived signed URLs, per loan, to the single resources inside a title's EPUB.

A grant is ``/content/<loan>/<expires>/<signature>/`` (an HMAC of loan, patron and expiry under the server's
secret); a resource is fetched under it by its path inside the EPUB. Each request is served only when the signature
matches and has not expired, the browser's session is the patron of that loan, and the loan is active and before
its due time — so access ends the moment the loan does. The whole EPUB file is never served. What this protects
and what it does not: docs/library.md.
"""

from __future__ import annotations

import mimetypes
import time
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from anchorid.library import conf
from anchorid.library.models import Loan, Patron

SALT = "anchorid.library.content"
TYPES = {
    ".xhtml": "application/xhtml+xml",
    ".html": "application/xhtml+xml",
    ".opf": "application/oebps-package+xml",
    ".xml": "application/xml",
    ".ncx": "application/x-dtbncx+xml",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
    ".otf": "font/otf",
    ".ttf": "font/ttf",
    ".mp3": "audio/mpeg",
}
MAX_RESOURCE_BYTES = 32 * 1024 * 1024


class Refused(Exception):
    """The content request is refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def signature(loan_id: int, patron_id: int, expires: int) -> str:
    return salted_hmac(SALT, f"{loan_id}.{patron_id}.{expires}", algorithm="sha256").hexdigest()[:40]


@dataclass
class Grant:
    base: str
    expires: int
    sizes: dict[str, int]


def book_path(loan: Loan) -> Path:
    return conf.books_dir() / loan.title.epub_file


@lru_cache(maxsize=64)
def _sizes(path: str, mtime: float) -> dict[str, int]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: info.file_size for info in archive.infolist() if not info.is_dir()}


def grant(loan: Loan, patron: Patron, now: float | None = None) -> Grant:
    """A fresh signed base URL for the patron's active loan (raises Refused otherwise)."""
    if loan.patron_id != patron.pk or not loan.is_readable() or not loan.title.epub_file:
        raise Refused(403, "no active loan")
    expires = int((now or time.time()) + conf.content_url_seconds())
    base = f"/content/{loan.pk}/{expires}/{signature(loan.pk, patron.pk, expires)}/"
    path = book_path(loan)
    return Grant(base, expires, _sizes(str(path), path.stat().st_mtime))


def resource(loan_id: int, expires: int, sig: str, name: str, patron: Patron | None) -> tuple[bytes, str]:
    """The bytes and media type of ``name`` inside the loan's EPUB, when every check passes."""
    if patron is None:
        raise Refused(403, "not logged in")
    if expires < time.time():
        raise Refused(403, "the link has expired")
    if not constant_time_compare(sig, signature(loan_id, patron.pk, expires)):
        raise Refused(403, "bad signature")
    loan = Loan.objects.select_related("title").filter(pk=loan_id, patron=patron).first()
    if loan is None or not loan.is_readable(timezone.now()):
        raise Refused(403, "no active loan")
    path = book_path(loan)
    sizes = _sizes(str(path), path.stat().st_mtime)
    if name not in sizes or sizes[name] > MAX_RESOURCE_BYTES:
        raise Refused(404, "no such resource")
    with zipfile.ZipFile(path) as archive:
        data = archive.read(name)
    suffix = Path(name).suffix.lower()
    return data, TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
