"""Title covers: the EPUB's own cover image (the manifest item with ``properties="cover-image"``), served at a public,
cacheable URL per title (``/titles/<id>/cover``) for the catalogue pages.

A cover is not loan-protected content — it is what a shop window or a printed catalogue shows — so it needs no
loan, no login and no signature, and browsers and proxies may keep it for a day. Only the cover image leaves the
EPUB this way: the item the package document names as the cover, of an image type, at most ``MAX_COVER_BYTES``.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET  # DOCTYPEs and entities are refused in _xml
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from anchorid.library import conf
from anchorid.library.models import Title

CONTAINER_NS = "{urn:oasis:names:tc:opendocument:xmlns:container}"
OPF_NS = "{http://www.idpf.org/2007/opf}"
COVER_TYPES = frozenset({"image/svg+xml", "image/jpeg", "image/png", "image/webp", "image/gif"})
MAX_COVER_BYTES = 2 * 1024 * 1024
MAX_XML_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Cover:
    data: bytes
    media_type: str


def _xml(archive: zipfile.ZipFile, name: str) -> ET.Element:
    if archive.getinfo(name).file_size > MAX_XML_BYTES:
        raise ValueError("too large")
    text = archive.read(name)
    if b"<!DOCTYPE" in text or b"<!ENTITY" in text:
        raise ValueError("a DOCTYPE in a package document")
    return ET.fromstring(text)  # noqa: S314 (no DOCTYPE, no entities: checked above)


@lru_cache(maxsize=256)
def _locate(path: str, mtime: float) -> tuple[str, str] | None:
    """The cover's name inside the EPUB and its media type, or None."""
    try:
        with zipfile.ZipFile(path) as archive:
            rootfile = _xml(archive, "META-INF/container.xml").find(f".//{CONTAINER_NS}rootfile")
            opf_name = rootfile.get("full-path", "") if rootfile is not None else ""
            for item in _xml(archive, opf_name).iterfind(f"./{OPF_NS}manifest/{OPF_NS}item"):
                if "cover-image" not in item.get("properties", "").split():
                    continue
                media_type = item.get("media-type", "")
                name = posixpath.normpath(posixpath.join(posixpath.dirname(opf_name), unquote(item.get("href", ""))))
                info = archive.getinfo(name)
                if media_type in COVER_TYPES and info.file_size <= MAX_COVER_BYTES:
                    return name, media_type
                return None
    except (OSError, KeyError, ValueError, ET.ParseError, zipfile.BadZipFile):
        return None
    return None


def cover(title: Title) -> Cover | None:
    """The title's cover image, or None when it has no EPUB or the EPUB names no usable cover."""
    if not title.epub_file:
        return None
    path = conf.books_dir() / title.epub_file
    try:
        found = _locate(str(path), path.stat().st_mtime)
        if found is None:
            return None
        with zipfile.ZipFile(path) as archive:
            return Cover(archive.read(found[0]), found[1])
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
