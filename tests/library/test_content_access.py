"""The reader's content: served only under a fresh signature, to the patron of an active loan, one resource at a
time. Without a loan, with an expired or forged signature, after the loan ended or by another patron: refused.
Position and bookmarks: bad input is a clear 400 and nothing is written."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.test import Client

from anchorid.library import circulation, content
from anchorid.library.epub import build, store
from anchorid.library.models import Loan, Patron, ReadingState, Title
from anchorid.library.sample_books import BOOKS

from .conftest import logged_in, make_patron, make_title, one_copy

pytestmark = pytest.mark.django_db
CHAPTER = "OEBPS/chapter1.xhtml"


@pytest.fixture
def loan(books_dir: Path) -> Loan:
    title = make_title(vertical=True, epub_file=store(build(BOOKS[0]), books_dir))
    one_copy(title)
    return circulation.borrow(make_patron(), title.pk)


def _grant(client: Client, loan: Loan) -> dict[str, object]:
    response = client.get(f"/api/loans/{loan.pk}/grant")
    assert response.status_code == 200
    given: dict[str, object] = response.json()
    return given


def test_it_serves_a_resource_to_the_patron_of_an_active_loan(loan: Loan) -> None:
    client = logged_in(loan.patron)
    given = _grant(client, loan)
    assert given["vertical"] is True
    assert CHAPTER in given["sizes"]  # type: ignore[operator]
    response = client.get(f"{given['base']}{CHAPTER}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xhtml+xml"
    assert "no-store" in response["Cache-Control"]
    assert "潮の匂い" in response.content.decode()
    assert client.get(f"{given['base']}OEBPS/content.opf").status_code == 200
    assert client.get(f"{given['base']}../../books/{loan.title.epub_file}").status_code == 404
    assert client.get(f"{given['base']}{loan.title.epub_file}").status_code == 404  # never the whole file
    assert client.get(f"/loans/{loan.pk}/read/").status_code == 200


def test_it_refuses_content_without_a_loan_or_to_another_patron(loan: Loan) -> None:
    given = _grant(logged_in(loan.patron), loan)
    stranger = logged_in(make_patron())
    assert stranger.get(f"{given['base']}{CHAPTER}").status_code == 403
    assert stranger.get(f"/api/loans/{loan.pk}/grant").status_code == 403
    assert stranger.get(f"/loans/{loan.pk}/read/").status_code == 404
    assert Client().get(f"{given['base']}{CHAPTER}").status_code == 403  # not logged in
    assert Client().get(f"/api/loans/{loan.pk}/grant").status_code == 403
    # a signature made for the stranger on someone else's loan is refused too: the loan is not theirs
    expires = int(time.time()) + 60
    forged = content.signature(loan.pk, Patron.objects.exclude(pk=loan.patron_id).first().pk, expires)  # type: ignore[union-attr]
    assert stranger.get(f"/content/{loan.pk}/{expires}/{forged}/{CHAPTER}").status_code == 403


def test_it_refuses_an_expired_or_forged_signature(loan: Loan) -> None:
    client = logged_in(loan.patron)
    past = int(time.time()) - 1
    stale = content.signature(loan.pk, loan.patron_id, past)
    assert client.get(f"/content/{loan.pk}/{past}/{stale}/{CHAPTER}").status_code == 403
    future = int(time.time()) + 60
    assert client.get(f"/content/{loan.pk}/{future}/{'0' * 40}/{CHAPTER}").status_code == 403
    assert (
        client.get(
            f"/content/{loan.pk}/{future + 1}/{content.signature(loan.pk, loan.patron_id, future)}/{CHAPTER}"
        ).status_code
        == 403
    )
    assert client.get(f"/content/{loan.pk}/{future}/not-hex/{CHAPTER}").status_code == 404


def test_it_refuses_content_after_the_loan_ended(loan: Loan) -> None:
    client = logged_in(loan.patron)
    given = _grant(client, loan)
    circulation.return_loan(loan.patron, loan.pk)
    assert client.get(f"{given['base']}{CHAPTER}").status_code == 403
    assert client.get(f"/api/loans/{loan.pk}/grant").status_code == 403
    assert client.get(f"/loans/{loan.pk}/read/").status_code == 404


def test_it_refuses_content_the_moment_the_due_time_passes(loan: Loan) -> None:
    client = logged_in(loan.patron)
    given = _grant(client, loan)
    Loan.objects.filter(pk=loan.pk).update(due_at=loan.started_at)  # due now; no job has run
    assert client.get(f"{given['base']}{CHAPTER}").status_code == 403


def test_it_syncs_position_and_bookmarks_and_refuses_bad_input(loan: Loan) -> None:
    client = logged_in(loan.patron)
    url = f"/api/loans/{loan.pk}/state"
    cfi = "epubcfi(/6/4!/4/2/1:0)"
    saved = client.post(url, {"position": cfi, "bookmarks": [cfi]}, content_type="application/json")
    assert saved.status_code == 200
    assert _grant(logged_in(loan.patron), loan)["position"] == cfi  # another device sees it
    too_many = '{"bookmarks": [' + ",".join(['"epubcfi(/6)"'] * 101) + "]}"
    huge = '{"position": "' + "a" * 5000 + '"}'
    for bad in (
        "[]",
        "{",
        '{"position": 5}',
        '{"position": "javascript:x"}',
        '{"bookmarks": "x"}',
        too_many,
        "\x00",
        huge,
    ):
        response = client.post(url, bad, content_type="application/json")
        assert response.status_code == 400, bad
        assert response.json()["error"] == "invalid_request"
    assert ReadingState.objects.get().position == cfi
    assert logged_in(make_patron()).post(url, {"position": cfi}, content_type="application/json").status_code == 403


def test_it_refuses_forged_title_ids_when_borrowing(loan: Loan) -> None:
    client = logged_in(make_patron())
    before = Loan.objects.count()
    assert client.post("/titles/999999/borrow/").status_code == 404
    assert client.post("/titles/999999/hold/").status_code == 404
    assert client.post("/loans/999999/return/").status_code == 302
    assert Loan.objects.count() == before
    assert Title.objects.count() == 1
