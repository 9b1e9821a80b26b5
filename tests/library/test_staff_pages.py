"""Staff pages: only for staff; acquisitions refuse a malformed ISBN or NDC with a clear 400 and write nothing;
buying a licence puts the title on the shelf; statistics hide cells below k = 10; patron support finds a patron by
card number and issues the counter's codes."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from anchorid.library import circulation
from anchorid.library.models import Licence, Loan, Title

from .conftest import make_patron, make_title

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(User.objects.create_user("staff", password="x" * 16, is_staff=True))
    return client


def test_it_sends_non_staff_to_the_staff_login() -> None:
    for path in ("/staff/", "/staff/licences/", "/staff/stats/", "/staff/support/"):
        response = Client().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/staff/login/")
    assert Client().get("/staff/login/").status_code == 200


@pytest.mark.parametrize(("isbn", "ndc"), [("978-4-99-000001-4", "913.6"), ("12345", ""), ("", "91x"), ("", "1234.5")])
def test_it_refuses_a_bad_isbn_or_ndc_and_writes_nothing(staff: Client, isbn: str, ndc: str) -> None:
    response = staff.post("/staff/", {"action": "title", "t-title": "テスト", "t-isbn": isbn, "t-ndc": ndc,
                                      "t-language": "ja"})  # fmt: skip
    assert response.status_code == 400
    assert not Title.objects.exists()


def test_it_adds_a_title_and_buys_a_licence(staff: Client) -> None:
    response = staff.post("/staff/", {"action": "title", "t-title": "星を編む人", "t-title_yomi": "ほしをあむひと",
                                      "t-isbn": "978-4-99-000001-1", "t-ndc": "913.6", "t-language": "ja"})  # fmt: skip
    assert response.status_code == 302
    title = Title.objects.get()
    assert title.isbn == "9784990000011"
    assert staff.post("/staff/", {"action": "licence", "l-title_id": "999999", "l-model": "one-copy",
                                  "l-cost_yen": "4400"}).status_code == 400  # fmt: skip
    metered_without_terms = {"action": "licence", "l-title_id": str(title.pk), "l-model": "metered",
                             "l-cost_yen": "2800"}  # fmt: skip
    assert staff.post("/staff/", metered_without_terms).status_code == 400  # a metered licence needs loans or months
    assert not Licence.objects.exists()
    bought = staff.post("/staff/", {"action": "licence", "l-title_id": str(title.pk), "l-model": "one-copy",
                                    "l-cost_yen": "4400"})  # fmt: skip
    assert bought.status_code == 302
    assert Licence.objects.get().max_loans == 52
    assert "星を編む人" in staff.get("/staff/").content.decode()


def test_it_hides_statistics_cells_below_k(staff: Client) -> None:
    title = make_title()
    circulation.add_licence(title, Licence.Model.SIMULTANEOUS)
    for _ in range(12):
        circulation.borrow(make_patron("resident"), title.pk)
    for _ in range(3):
        circulation.borrow(make_patron("commuter"), title.pk)
    page = staff.get("/staff/stats/").content.decode()
    assert ">12<" in page
    assert ">3<" not in page
    assert "10 未満" in page
    assert Loan.objects.count() == 15


def test_it_supports_a_patron_by_card_number_and_issues_codes(staff: Client) -> None:
    patron = make_patron()
    page = staff.get("/staff/support/", {"card": patron.card_number}).content.decode()
    assert patron.card_number in page
    assert patron.sub not in page  # no internal identifiers shown
    issued = staff.post("/staff/support/", {"action": "grant", "category": "commuter"})
    code = issued.context["code"]
    assert circulation.register("new-sub", {"resident_of": "131016"}, grant_code=code).category == "commuter"
    assert staff.post("/staff/support/", {"action": "card", "card": "12"}).status_code == 400
    assert staff.post("/staff/support/", {"action": "grant", "category": "resident"}).status_code == 400
