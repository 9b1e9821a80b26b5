"""The catalogue: ISBN checks, the normalised search text, search that works for Japanese, browse by NDC, new
arrivals.

Search matches substrings of one normalised text per title (title, its reading, authors and their readings,
subjects): NFKC, lower case, katakana folded to hiragana — so a reading typed in hiragana finds the title whose
reading is stored in katakana or hiragana, and the title shows in kanji. SQLite indexes that text with FTS5's
trigram tokenizer (``library_title_fts``), PostgreSQL with a pg_trgm GIN index (migration 0002). Each query word
is matched as a literal substring: FTS5 gets it as one quoted string (its syntax has no effect), LIKE gets its
wildcards escaped. Words shorter than three characters (trigrams need three) are matched with LIKE alone.
"""

from __future__ import annotations

import re
import unicodedata

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from anchorid.library.isbn import BadISBN, normalise_isbn, with_isbn_check_digit
from anchorid.library.models import Title

__all__ = ["BadISBN", "normalise_isbn", "with_isbn_check_digit"]

MAX_QUERY_CHARS = 100
MAX_WORDS = 6
PAGE = 20

#: NDC's ten main classes (日本十進分類法), for browsing.
NDC_CLASSES = {
    "0": "総記",
    "1": "哲学",
    "2": "歴史",
    "3": "社会科学",
    "4": "自然科学",
    "5": "技術",
    "6": "産業",
    "7": "芸術",
    "8": "言語",
    "9": "文学",
}
NDC_PATTERN = re.compile(r"^[0-9]{3}(\.[0-9]{1,4})?$")


class BadQuery(ValueError):
    """A query the catalogue refuses (too long); the message is for the resident."""


def fold(text: str) -> str:
    """NFKC, lower case, katakana → hiragana (the long-vowel mark stays)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def search_text(title: Title) -> str:
    parts = (title.title, title.title_yomi, title.authors, title.authors_yomi, title.subjects, title.publisher)
    return fold(" ".join(part for part in parts if part))


def index(title: Title) -> None:
    """Keep the title's search text (and, on SQLite, its FTS5 row) in step; call after saving bibliographic data."""
    text = search_text(title)
    Title.objects.filter(pk=title.pk).update(search_text=text)
    title.search_text = text
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM library_title_fts WHERE rowid = %s", [title.pk])
            cursor.execute("INSERT INTO library_title_fts(rowid, body) VALUES (%s, %s)", [title.pk, text])


def words(query: str) -> list[str]:
    if len(query) > MAX_QUERY_CHARS:
        raise BadQuery(f"a search is at most {MAX_QUERY_CHARS} characters")
    found = [word for word in fold(query).split() if word]
    return found[:MAX_WORDS]


def search(query: str, *, limit: int = PAGE) -> list[Title]:
    """Titles matching every word of ``query`` (newest first). Raises BadQuery."""
    terms = words(query)
    if not terms:
        return []
    return list(matching(terms)[:limit])


def matching(terms: list[str]) -> QuerySet[Title]:
    """Every term as a literal substring of the search text (Django escapes LIKE's wildcards). On SQLite the terms
    of three characters or more go through the FTS5 trigram index first, as one quoted string each."""
    titles = Title.objects.all()
    if connection.vendor == "sqlite":
        long_terms = [term for term in terms if len(term) >= 3]
        if long_terms:
            phrase = " ".join('"' + term.replace('"', '""') + '"' for term in long_terms)
            fts = RawSQL("SELECT rowid FROM library_title_fts WHERE body MATCH %s", [phrase])
            titles = titles.filter(id__in=fts)
            terms = [term for term in terms if len(term) < 3]
    for term in terms:  # PostgreSQL: LIKE is served by the pg_trgm GIN index (three characters and more)
        titles = titles.filter(search_text__contains=term)
    return titles.order_by("-added_at", "-id")


def browse(ndc_class: str, *, limit: int = PAGE) -> list[Title]:
    if ndc_class not in NDC_CLASSES:
        raise BadQuery("choose one of the NDC classes 0–9")
    return list(Title.objects.filter(ndc__startswith=ndc_class).order_by("-added_at", "-id")[:limit])


def new_arrivals(*, limit: int = PAGE) -> list[Title]:
    return list(Title.objects.order_by("-added_at", "-id")[:limit])
