"""An independent checker: the e-library's sample collection is valid EPUB 3 by Debian's ``epubcheck`` (the
package's jar, run with Java's quick compiler, two at a time on the two cores), the vertical ones declare
vertical writing and right-to-left page progression, and the picture book is fixed layout with a viewport per page.
No database: it runs once per CI run, with the interop suite."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from anchorid.library.epub import build
from anchorid.library.sample_books import BOOKS

EPUBCHECK_JAR = Path("/usr/share/java/epubcheck.jar")  # Debian's epubcheck package (scripts/bootstrap --test)


def _check(path: Path) -> tuple[Path, int, str]:
    done = subprocess.run(
        ["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", str(EPUBCHECK_JAR), str(path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return path, done.returncode, done.stdout + done.stderr


def test_it_makes_sample_epubs_that_epubcheck_accepts(tmp_path: Path) -> None:
    paths = []
    for number, book in enumerate(BOOKS):
        path = tmp_path / f"sample-{number}.epub"
        path.write_bytes(build(book))
        paths.append(path)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_check, paths))
    for path, status, output in results:
        assert status == 0, f"{path.name}: {output}"
        assert "No errors or warnings detected" in output, output


def test_it_writes_vertical_books_right_to_left() -> None:
    vertical = [book for book in BOOKS if book.vertical]
    assert len(vertical) >= 3
    for book in vertical:
        with zipfile.ZipFile(io.BytesIO(build(book))) as archive:
            assert archive.namelist()[0] == "mimetype"
            assert 'page-progression-direction="rtl"' in archive.read("OEBPS/content.opf").decode()
            assert "writing-mode: vertical-rl" in archive.read("OEBPS/style.css").decode()


def test_it_writes_the_picture_book_as_fixed_layout_pages() -> None:
    fixed = [book for book in BOOKS if book.fixed_layout]
    assert len(fixed) == 1
    with zipfile.ZipFile(io.BytesIO(build(fixed[0]))) as archive:
        opf = archive.read("OEBPS/content.opf").decode()
        assert '<meta property="rendition:layout">pre-paginated</meta>' in opf
        spine = re.findall(r'<itemref idref="(c\d+)"/>', opf)
        assert len(spine) == len(fixed[0].pages) == 6
        for number in range(1, len(spine) + 1):
            page = archive.read(f"OEBPS/page{number}.xhtml").decode()
            assert '<meta name="viewport" content="width=600, height=800"/>' in page
            assert '<svg xmlns="http://www.w3.org/2000/svg"' in page
