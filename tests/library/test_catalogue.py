"""The catalogue: ISBN check digits, Japanese search (a hiragana reading finds the kanji title; FTS5 trigram on
SQLite, pg_trgm on PostgreSQL), browse by NDC, new arrivals, and search input that cannot change the query."""

from __future__ import annotations

import pytest
from django.test import Client

from anchorid.library import catalogue
from anchorid.library.models import Title

from .conftest import make_title

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("978-4-99-000001-1", "9784990000011"),
        ("4-10-109205-2", "9784101092058"),
        ("９７８４９９０００００１１", "9784990000011"),
    ],
)
def test_it_accepts_isbns_with_a_correct_check_digit(raw: str, expected: str) -> None:
    assert catalogue.normalise_isbn(raw) == expected


@pytest.mark.parametrize("raw", ["978-4-99-000001-4", "4-10-109205-X", "12345", "978499000001X", "", "'; DROP TABLE"])
def test_it_refuses_malformed_isbns(raw: str) -> None:
    with pytest.raises(catalogue.BadISBN):
        catalogue.normalise_isbn(raw)


def test_it_finds_a_kanji_title_by_its_reading_in_hiragana_or_katakana() -> None:
    sea = make_title("海辺の図書室", "ウミベノトショシツ", authors="浜野 しおり", subjects="小説 図書館")
    make_title("竹林の手紙", "ちくりんのてがみ")
    assert [t.pk for t in catalogue.search("うみべ")] == [sea.pk]
    assert [t.pk for t in catalogue.search("ウミベノ")] == [sea.pk]
    assert [t.pk for t in catalogue.search("図書室")] == [sea.pk]
    assert [t.pk for t in catalogue.search("海辺")] == [sea.pk]  # two characters: below a trigram
    assert [t.pk for t in catalogue.search("浜野 図書館")] == [sea.pk]  # every word must match
    assert catalogue.search("うみべ 竹林") == []
    page = Client().get("/search/", {"q": "うみべ"}).content.decode()
    assert "海辺の図書室" in page
    assert "竹林の手紙" not in page


@pytest.mark.parametrize(
    "query",
    ['"', 'うみ" OR "', "* NEAR(a b)", "body:x", "' OR 1=1 --", "%", "_", "\\", "a) OR (b", "^うみ", "NOT AND OR"],
)
def test_it_treats_search_syntax_as_plain_text(query: str) -> None:
    make_title("海辺の図書室", "うみべのとしょしつ")
    before = Title.objects.count()
    response = Client().get("/search/", {"q": query})
    assert response.status_code == 200
    assert "海辺の図書室" not in response.content.decode()
    assert Title.objects.count() == before


def test_it_refuses_a_huge_query_with_a_clear_error() -> None:
    response = Client().get("/search/", {"q": "あ" * 5000})
    assert response.status_code == 400
    assert "100" in response.content.decode()


def test_it_browses_by_ndc_and_lists_new_arrivals() -> None:
    novel = make_title("星を編む人", "ほしをあむひと", ndc="913.6")
    make_title("鎌倉路地歩き", "かまくらろじあるき", ndc="291.37")
    assert [t.pk for t in catalogue.browse("9")] == [novel.pk]
    assert catalogue.new_arrivals()[0].title == "鎌倉路地歩き"
    assert Client().get("/browse/9/").status_code == 200
    assert Client().get("/browse/x/").status_code == 400
    assert Client().get("/browse/99/").status_code == 400


def test_it_answers_404_for_forged_title_ids() -> None:
    assert Client().get("/titles/999999/").status_code == 404
    assert Client().get("/titles/2147483648999/").status_code == 404
