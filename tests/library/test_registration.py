"""Registration in one step from verified claims: a resident gets a patron record, a card number and the resident
category at once; a non-resident is refused with a clear message unless staff gave a category code; a physical
card links with the counter's one-time code."""

from __future__ import annotations

import pytest

from anchorid.library import circulation
from anchorid.library.models import Patron

from .conftest import CITY, logged_in

pytestmark = pytest.mark.django_db


def test_it_registers_a_resident_in_one_step() -> None:
    patron = circulation.register("pairwise-1", {"resident_of": CITY})
    assert patron.category == "resident"
    assert len(patron.card_number) == 10
    assert patron.card_number.isdigit()
    assert circulation.register("pairwise-1", {"resident_of": CITY}).pk == patron.pk  # the same at the next login
    assert Patron.objects.count() == 1


def test_it_refuses_a_non_resident_without_an_allowed_category_and_keeps_nothing() -> None:
    with pytest.raises(circulation.NotEligible) as refused:
        circulation.register("pairwise-2", {"resident_of": "131016"})
    assert refused.value.code == "not_resident"
    assert "市内にお住まいの方が利用できます" in refused.value.message
    with pytest.raises(circulation.NotEligible):
        circulation.register("pairwise-2", {})
    assert not Patron.objects.exists()


def test_it_registers_a_commuter_with_a_staff_code_once() -> None:
    code = circulation.issue_grant("commuter")
    patron = circulation.register("pairwise-3", {"resident_of": "131016"}, grant_code=code)
    assert patron.category == "commuter"
    with pytest.raises(circulation.NotEligible) as again:
        circulation.register("pairwise-4", {"resident_of": "131016"}, grant_code=code)
    assert again.value.code == "bad_code"
    with pytest.raises(ValueError, match="not a category"):
        circulation.issue_grant("resident")


def test_it_links_a_physical_card_with_the_counters_code() -> None:
    patron = circulation.register("pairwise-5", {"resident_of": CITY})
    code = circulation.issue_card_link("0012345678")
    client = logged_in(patron)
    assert client.post("/me/card/", {"code": "WRONG"}).status_code == 302
    patron.refresh_from_db()
    assert patron.physical_card == ""
    client.post("/me/card/", {"code": code.lower()})
    patron.refresh_from_db()
    assert patron.physical_card == "0012345678"
    with pytest.raises(ValueError, match="6 to 20 digits"):
        circulation.issue_card_link("12-ab")


def test_it_offers_the_code_form_to_a_refused_person_and_registers_with_it() -> None:
    from django.test import Client

    from anchorid.library.views import UNREGISTERED

    client = Client()
    session = client.session
    session[UNREGISTERED] = {"sub": "pairwise-6", "claims": {"resident_of": "131016"}}
    session.save()
    refused = client.post("/register/code/", {"code": "NOPE"})
    assert refused.status_code == 403
    assert "registration code is not valid" in refused.content.decode() or "登録" in refused.content.decode()
    code = circulation.issue_grant("commuter")
    assert client.post("/register/code/", {"code": code}).status_code == 302
    assert Patron.objects.get(sub="pairwise-6").category == "commuter"
