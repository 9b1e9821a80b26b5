"""EPUB 3 files made from plain text: the demo's sample collection (``samples.py``), checked by Debian's
``epubcheck`` in the tests.

A vertical book (縦書き) gets ``writing-mode: vertical-rl`` in its stylesheet and ``page-progression-direction="rtl"``
on its spine, as Japanese publishers' EPUBs do (the Japanese EPUB 3 guide, 電書協 EPUB 3 制作ガイド).

A fixed-layout book (a picture book: ``Book.pages``) is ``rendition:layout pre-paginated`` with one page per spine
item: an XHTML document with a ``viewport`` of ``PAGE_WIDTH`` × ``PAGE_HEIGHT`` CSS pixels, an inline SVG picture and
its text below it (text, not pixels: it can be searched, read aloud and zoomed).
"""

from __future__ import annotations

import datetime
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>
"""

HORIZONTAL_CSS = (
    "body { margin: 0 1em; line-height: 1.8; } h1 { font-size: 1.4em; } p { text-indent: 1em; margin: 0; }\n"
)
VERTICAL_CSS = (
    "html { writing-mode: vertical-rl; -webkit-writing-mode: vertical-rl; -epub-writing-mode: vertical-rl; }\n"
    "body { margin: 1em 0; line-height: 1.8; } h1 { font-size: 1.4em; } p { text-indent: 1em; margin: 0; }\n"
)
PAGE_WIDTH, PAGE_HEIGHT, PICTURE_HEIGHT = 600, 800, 600
FIXED_CSS = (
    f"html, body {{ margin: 0; padding: 0; width: {PAGE_WIDTH}px; height: {PAGE_HEIGHT}px; overflow: hidden; }}\n"
    f"svg {{ display: block; width: {PAGE_WIDTH}px; height: {PICTURE_HEIGHT}px; }}\n"
    f"p {{ margin: 0; padding: 40px 48px; height: {PAGE_HEIGHT - PICTURE_HEIGHT - 80}px; font-size: 34px; "
    "line-height: 1.6; text-align: center; background: #fffdf5; color: #222; }\n"
)


@dataclass
class Book:
    identifier: str
    title: str
    title_yomi: str
    author: str
    author_yomi: str
    language: str
    vertical: bool
    chapters: list[tuple[str, list[str]]]  # (heading, paragraphs); none in a fixed-layout book
    publisher: str = "鎌倉電子図書館 見本（架空）"
    isbn: str = ""
    ndc: str = "913.6"
    subjects: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    #: A fixed-layout (pre-paginated) book: one (text, SVG picture elements in a 600 × 600 box) per page.
    pages: list[tuple[str, str]] = field(default_factory=list)

    @property
    def fixed_layout(self) -> bool:
        return bool(self.pages)


def _xhtml(book: Book, heading: str, body: str, viewport: str = "") -> str:
    meta = f'<meta name="viewport" content="{viewport}"/>' if viewport else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
        f'<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" '
        f'xml:lang="{book.language}" lang="{book.language}">\n'
        f'<head><meta charset="UTF-8"/>{meta}<title>{escape(heading)}</title>'
        '<link rel="stylesheet" type="text/css" href="style.css"/></head>\n'
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _page(book: Book, number: int, text: str, picture: str) -> str:
    """One fixed-layout page: the picture (inline SVG, described by the page's text) and the text below it."""
    body = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{PAGE_WIDTH}" height="{PICTURE_HEIGHT}" '
        f'viewBox="0 0 {PAGE_WIDTH} {PICTURE_HEIGHT}" role="img" aria-labelledby="t{number}">{picture}</svg>\n'
        f'<p id="t{number}">{escape(text)}</p>'
    )
    return _xhtml(book, f"{book.title} {number}", body, viewport=f"width={PAGE_WIDTH}, height={PAGE_HEIGHT}")


def _cover_svg(book: Book) -> str:
    colour = "#b5501a" if book.fixed_layout else "#1a4f8b" if book.vertical else "#2e7d32"
    title = escape(book.title)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="900" viewBox="0 0 600 900">'
        f'<rect width="600" height="900" fill="{colour}"/>'
        f'<text x="300" y="420" font-size="48" fill="#ffffff" text-anchor="middle">{title}</text>'
        f'<text x="300" y="520" font-size="28" fill="#ffffff" text-anchor="middle">{escape(book.author)}</text>'
        "</svg>\n"
    )


def _file_as(element: str, reading: str) -> str:
    """The reading (よみ) of a title or author as EPUB 3's ``file-as`` refinement, when there is one."""
    return f'\n    <meta refines="#{element}" property="file-as">{escape(reading)}</meta>' if reading else ""


def build(book: Book, *, modified: datetime.datetime | None = None) -> bytes:
    """The EPUB file's bytes (deterministic for a given ``modified``)."""
    stamp = (modified or datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    chapters = []
    for number, (text, picture) in enumerate(book.pages, start=1):
        chapters.append((f"page{number}.xhtml", f"{number}　{text}", _page(book, number, text, picture)))
    for number, (heading, paragraphs) in enumerate(book.chapters, start=1):
        body = f'<section epub:type="chapter"><h1>{escape(heading)}</h1>\n' + "\n".join(
            f"<p>{escape(paragraph)}</p>" for paragraph in paragraphs
        ) + "\n</section>"  # fmt: skip
        chapters.append((f"chapter{number}.xhtml", heading, _xhtml(book, heading, body)))
    toc = "\n".join(f'<li><a href="{name}">{escape(heading)}</a></li>' for name, heading, _ in chapters)
    nav = _xhtml(book, "目次", f'<nav epub:type="toc" id="toc"><h1>目次</h1><ol>\n{toc}\n</ol></nav>')
    svg = ' properties="svg"' if book.fixed_layout else ""  # each page has an inline SVG picture
    manifest = "\n".join(
        f'    <item id="c{i}" href="{name}" media-type="application/xhtml+xml"{svg}/>'
        for i, (name, _, _) in enumerate(chapters, start=1)
    )
    layout = "pre-paginated" if book.fixed_layout else "reflowable"
    # one page at a time (phone width first); a reader may still show two side by side on a wide screen
    spread = '\n    <meta property="rendition:spread">none</meta>' if book.fixed_layout else ""
    spine = "\n".join(f'    <itemref idref="c{i}"/>' for i in range(1, len(chapters) + 1))
    direction = ' page-progression-direction="rtl"' if book.vertical else ""
    isbn = f"\n    <dc:source>urn:isbn:{book.isbn}</dc:source>" if book.isbn else ""
    opf = f"""<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="bookid" xml:lang="{book.language}">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="bookid">{escape(book.identifier)}</dc:identifier>
    <dc:title id="title">{escape(book.title)}</dc:title>{_file_as("title", book.title_yomi)}
    <dc:creator id="creator">{escape(book.author)}</dc:creator>{_file_as("creator", book.author_yomi)}
    <dc:publisher>{escape(book.publisher)}</dc:publisher>
    <dc:language>{book.language}</dc:language>{isbn}
    <meta property="dcterms:modified">{stamp}</meta>
    <meta property="rendition:layout">{layout}</meta>{spread}
  </metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    <item id="css" href="style.css" media-type="text/css"/>
    <item id="cover" href="cover.svg" media-type="image/svg+xml" properties="cover-image"/>
{manifest}
  </manifest>
  <spine{direction}>
{spine}
  </spine>
</package>
"""
    out = io.BytesIO()
    fixed = (2026, 12, 1, 0, 0, 0)
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype", fixed), "application/epub+zip", compress_type=zipfile.ZIP_STORED)

        def put(name: str, text: str) -> None:
            archive.writestr(zipfile.ZipInfo(name, fixed), text.encode(), compress_type=zipfile.ZIP_DEFLATED)

        put("META-INF/container.xml", CONTAINER)
        put("OEBPS/content.opf", opf)
        put("OEBPS/nav.xhtml", nav)
        put("OEBPS/style.css", FIXED_CSS if book.fixed_layout else VERTICAL_CSS if book.vertical else HORIZONTAL_CSS)
        put("OEBPS/cover.svg", _cover_svg(book))
        for name, _, text in chapters:
            put(f"OEBPS/{name}", text)
    return out.getvalue()


def store(data: bytes, books_dir: Path) -> str:
    """Write an EPUB into the books folder under its content hash; the file name."""
    name = hashlib.sha256(data).hexdigest()[:32] + ".epub"
    books_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = books_dir / name
    if not path.exists():
        path.write_bytes(data)
    return name
