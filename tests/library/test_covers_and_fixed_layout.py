"""Covers on the catalogue pages and the fixed-layout picture book of the sample collection.

Covers: each title's EPUB cover at a public, cacheable URL (no login, no loan; revalidated by the EPUB's content
hash), shown with alt text in search results, new arrivals and on the title page; a title without a cover, a
missing file or a forged id is a 404. The picture book (``rendition:layout pre-paginated``) is listed with its
format and opens in the reader: the reader page, its grant and the pages under the signed content URLs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

import anchorid.library
from anchorid.library import circulation
from anchorid.library.models import Title
from anchorid.library.samples import seed

from .conftest import logged_in, make_patron, make_title

pytestmark = pytest.mark.django_db
PICTURE_BOOK = "青い風船のさんぽ"
STATIC = Path(anchorid.library.__file__).parent / "static" / "library"
#: Static imports and re-exports (``import x from '…'``, ``import '…'``, ``export … from '…'``) and ``import('…')``.
IMPORT = re.compile(
    r"""^\s*(?:import|export)\s+(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)""",
    re.MULTILINE,
)


@pytest.fixture
def titles(books_dir: Path) -> list[Title]:
    return seed(books_dir)


def _cover_images(html: str) -> dict[str, str]:
    """src → alt of every cover image on a page."""
    return dict(re.findall(r'<img class="cover[^"]*" src="([^"]+)" alt="([^"]+)"', html))


def test_it_serves_every_sample_cover_publicly_and_cacheably(titles: list[Title]) -> None:
    anonymous = Client()
    for title in titles:
        response = anonymous.get(f"/titles/{title.pk}/cover")
        assert response.status_code == 200, title.title
        assert response["Content-Type"] == "image/svg+xml"
        assert response.content.startswith(b"<?xml")
        assert b"<svg" in response.content
        assert response["Cache-Control"] == "public, max-age=86400"
        assert "sandbox" in response["Content-Security-Policy"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "Cookie" not in response.get("Vary", "")
        assert not response.cookies
        again = anonymous.get(f"/titles/{title.pk}/cover", headers={"If-None-Match": response["ETag"]})
        assert again.status_code == 304
        assert again.content == b""


def test_it_answers_404_for_a_title_without_a_cover_or_a_forged_id(titles: list[Title], books_dir: Path) -> None:
    assert Client().get(f"/titles/{make_title('表紙のない本', 'ひょうしのないほん').pk}/cover").status_code == 404
    gone = make_title("消えた本", "きえたほん", epub_file="0" * 32 + ".epub")  # its file is not in the books folder
    assert Client().get(f"/titles/{gone.pk}/cover").status_code == 404
    assert Client().get("/titles/999999/cover").status_code == 404
    assert Client().get("/titles/2147483648999/cover").status_code == 404
    assert Client().get("/titles/-1/cover").status_code == 404
    assert Client().post(f"/titles/{titles[0].pk}/cover").status_code == 405


def test_it_shows_covers_with_alt_text_on_search_results_arrivals_and_the_title_page(titles: list[Title]) -> None:
    client = Client()
    arrivals = _cover_images(client.get("/").content.decode())
    assert {f"/titles/{t.pk}/cover" for t in titles} <= set(arrivals)
    assert arrivals[f"/titles/{titles[0].pk}/cover"] == "『海辺の図書室』の表紙"
    found = _cover_images(client.get("/search/", {"q": "うみべ"}).content.decode())
    assert found == {f"/titles/{titles[0].pk}/cover": "『海辺の図書室』の表紙"}
    page = client.get(f"/titles/{titles[0].pk}/").content.decode()
    assert _cover_images(page) == {f"/titles/{titles[0].pk}/cover": "『海辺の図書室』の表紙"}
    assert 'width="160" height="240"' in page
    english = client.get(f"/titles/{titles[0].pk}/", headers={"Accept-Language": "en"}).content.decode()
    assert "Cover of 海辺の図書室" in english


def test_it_lists_the_fixed_layout_picture_book_with_its_format(titles: list[Title]) -> None:
    book = next(t for t in titles if t.title == PICTURE_BOOK)
    assert book.format == Title.Format.FIXED
    assert {t.format for t in titles if t.pk != book.pk} == {Title.Format.REFLOWABLE}
    results = Client().get("/search/", {"q": "ふうせん"}).content.decode()
    assert f'data-title="{book.pk}"' in results
    assert 'data-format="epub-fixed"' in results
    assert "EPUB 3（固定レイアウト）" in results
    assert 'data-format="epub-fixed"' in Client().get("/").content.decode()
    page = Client().get(f"/titles/{book.pk}/").content.decode()
    assert '<dd id="format" data-format="epub-fixed">EPUB 3（固定レイアウト）' in page


def test_it_opens_the_fixed_layout_picture_book_in_the_reader(titles: list[Title]) -> None:
    book = next(t for t in titles if t.title == PICTURE_BOOK)
    patron = make_patron()
    loan = circulation.borrow(patron, book.pk)
    client = logged_in(patron)
    reader = client.get(f"/loans/{loan.pk}/read/")
    assert reader.status_code == 200
    assert "library/reader.js" in reader.content.decode()
    assert "frame-src blob:" in reader["Content-Security-Policy"]  # foliate-js's fixed layout draws in iframes
    grant = client.get(f"/api/loans/{loan.pk}/grant").json()
    pages = sorted(name for name in grant["sizes"] if re.fullmatch(r"OEBPS/page\d+\.xhtml", name))
    assert len(pages) == 6
    opf = client.get(f"{grant['base']}OEBPS/content.opf").content.decode()
    assert '<meta property="rendition:layout">pre-paginated</meta>' in opf
    for name in pages:
        page = client.get(f"{grant['base']}{name}")
        assert page.status_code == 200
        assert page["Content-Type"] == "application/xhtml+xml"
        text = page.content.decode()
        assert '<meta name="viewport" content="width=600, height=800"/>' in text
        assert "<svg" in text
        assert 'role="img"' in text
    circulation.return_loan(patron, loan.pk)
    assert client.get(f"{grant['base']}{pages[0]}").status_code == 403  # a cover is public; the pages are not
    assert Client().get(f"/titles/{book.pk}/cover").status_code == 200


def test_it_resolves_every_module_the_reader_imports_without_a_bundler() -> None:
    """The browser loads the reader's ES modules as files: a bare npm name (as foliate-js's fixed-layout.js had for
    its style-sheet polyfill) would stop a fixed-layout book from opening, so every import is a path to a file here."""
    seen = 0
    for module in [STATIC / "reader.js", *sorted((STATIC / "foliate").rglob("*.js"))]:
        for specifier in (static or dynamic for static, dynamic in IMPORT.findall(module.read_text())):
            assert specifier.startswith(("./", "../")), f"{module.name}: {specifier}"
            assert (module.parent / specifier).resolve().is_file(), f"{module.name}: {specifier}"
            seen += 1
    assert seen >= 10
    assert "./vendor/construct-style-sheets-polyfill.js" in (STATIC / "foliate" / "fixed-layout.js").read_text()
