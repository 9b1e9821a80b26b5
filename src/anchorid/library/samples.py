"""The demo's sample collection in the catalogue: the synthetic books of ``sample_books`` with a licence each,
so that the demo shows every licence model.

``seed(books_dir)`` puts them in the catalogue with EPUB files and a licence of each model, idempotently.
"""

from __future__ import annotations

from pathlib import Path

from anchorid.library.catalogue import index
from anchorid.library.epub import build, store
from anchorid.library.models import Licence, Title
from anchorid.library.sample_books import BOOKS

__all__ = ["BOOKS", "LICENCES", "seed"]

#: Which licence model each sample gets, so the demo shows every model (and one title with a single copy).
LICENCES = [
    (Licence.Model.ONE_COPY, {"cost_yen": 4400}),
    (Licence.Model.METERED, {"cost_yen": 2800, "max_loans": 26, "months": 24}),
    (Licence.Model.ONE_COPY, {"cost_yen": 3300}),
    (Licence.Model.SIMULTANEOUS, {"cost_yen": 12000}),
    (Licence.Model.PAY_PER_USE, {"cost_yen": 180}),
    (Licence.Model.ONE_COPY, {"cost_yen": 2500}),
    (Licence.Model.SIMULTANEOUS, {"cost_yen": 6600}),  # the fixed-layout picture book
]


def seed(books_dir: Path) -> list[Title]:
    """The sample collection in the catalogue (created once; a second call changes nothing)."""
    from anchorid.library.circulation import add_licence
    from anchorid.library.models import Budget

    titles = []
    for book, (model, terms) in zip(BOOKS, LICENCES, strict=True):
        existing = Title.objects.filter(isbn=book.isbn).first()
        if existing is not None:
            titles.append(existing)
            continue
        name = store(build(book), books_dir)
        title = Title.objects.create(
            title=book.title, title_yomi=book.title_yomi, authors=book.author, authors_yomi=book.author_yomi,
            publisher=book.publisher, isbn=book.isbn, ndc=book.ndc, language=book.language,
            subjects=book.subjects, vertical=book.vertical, epub_file=name,
            format=Title.Format.FIXED if book.fixed_layout else Title.Format.REFLOWABLE,
        )  # fmt: skip
        index(title)
        add_licence(title, model, **terms)  # type: ignore[arg-type]
        titles.append(title)
    if not Budget.objects.exists():
        Budget.objects.create(remaining_yen=50000)
    return titles
