"""Library tests (``--ds=anchorid.library.settings``): registration, catalogue, licences, circulation, the reader's
content and the staff pages on the party's own database (SQLite, or PostgreSQL with DATABASE_URL); the whole
journey through a real idp and Chromium is tests/library/test_browser_library.py."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client

from anchorid.library import catalogue, circulation
from anchorid.library.models import Licence, Patron, Title
from anchorid.library.views import PATRON

CITY = "142042"
_serial = itertools.count(1)


@pytest.fixture
def books_dir(tmp_path: Path, settings: object) -> Path:
    folder = tmp_path / "books"
    settings.LIBRARY_BOOKS_DIR = folder  # type: ignore[attr-defined]
    return folder


def make_patron(category: str = "resident") -> Patron:
    n = next(_serial)
    return Patron.objects.create(sub=f"sub-{n}-{category}", card_number=f"{n:010d}", category=category)


def make_title(title: str = "海辺の図書室", yomi: str = "うみべのとしょしつ", **fields: object) -> Title:
    made = Title.objects.create(title=title, title_yomi=yomi, **fields)
    catalogue.index(made)
    return made


def one_copy(title: Title) -> Licence:
    return circulation.add_licence(title, Licence.Model.ONE_COPY, cost_yen=4400)


@pytest.fixture
def patron_factory(db: None) -> Callable[..., Patron]:
    return make_patron


def logged_in(patron: Patron) -> Client:
    client = Client()
    session = client.session
    session[PATRON] = patron.pk
    session.save()
    return client
