"""The city counter's confirmation of a guardian relation at AnchorID (issue #18 §1): the guardian proves the
child's card and asks for the counter (a code on "My children"); counter staff (the ``confirm_at_counter``
permission) find the request, check documents, type the child's attributes: the account opens and the guardianship
records the staff member's login and the documents checked. Bad input: a clear 4xx, nothing written."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import CARD_LOGIN
from anchorid.idp.guardians import service
from anchorid.idp.guardians.models import CounterRequest, Guardianship

from .idp_helpers import login_client
from .oidc_support import provider
from .test_guardians import CHILD, _card, _guardian

__all__ = ["provider"]
pytestmark = pytest.mark.django_db


def _counter_staff(username: str = "madoguchi-2", *, permitted: bool = True) -> Client:
    staff = Account.objects.create_user(username, "counter staff password", kind=Account.Kind.STAFF, is_staff=True)
    if permitted:
        staff.user_permissions.add(Permission.objects.get(codename="confirm_at_counter"))
    client = Client()
    client.force_login(staff)
    return client


def _guardian_asks_for_the_counter(client: Client) -> tuple[Account, str]:
    guardian = _guardian()
    login_client(client, guardian, CARD_LOGIN)
    session = client.session
    session[service.SESSION_CHILD] = _card().as_session()  # the child's card step, proved in this session
    session.save()
    assert client.post("/me/children/add/counter/").status_code == 302
    code = CounterRequest.objects.get(guardian=guardian).code
    assert code in client.get("/me/children/").content.decode()  # shown to the guardian
    return guardian, code


def _child_form(code: str, **changes: object) -> dict[str, object]:
    form = {"code": code, "name": "鎌倉 つむぎ", "birth_date": CHILD.birth_date.isoformat(), "gender": "2",
            "address": CHILD.address, "documents": ["koseki", "juminhyo"]}  # fmt: skip
    return {**form, **changes}


def test_it_confirms_a_guardian_at_the_counter_recording_the_staff_member_and_the_documents(
    provider: None, client: Client
) -> None:
    guardian, code = _guardian_asks_for_the_counter(client)
    staff = _counter_staff()
    found = staff.get("/staff/guardians/", {"code": code.replace("-", "").lower()})  # as typed at the counter
    assert found.status_code == 200
    assert 'id="counter-confirm"' in found.content.decode()
    assert "鎌倉" in found.content.decode()  # the guardian's verified name, to compare with their ID document

    done = staff.post("/staff/guardians/", _child_form(code))
    assert done.status_code == 302
    guardianship = Guardianship.objects.get(guardian=guardian)
    assert guardianship.confirmed_by == Guardianship.ConfirmedBy.COUNTER
    assert guardianship.checked == {"source": "city_counter", "staff": "madoguchi-2",
                                    "documents": ["koseki", "juminhyo"]}  # fmt: skip
    assert guardianship.child.attributes() == CHILD
    assert CounterRequest.objects.get(code=code).child == guardianship.child
    again = staff.post("/staff/guardians/", _child_form(code))  # a code is used once
    assert again.status_code == 400
    assert Guardianship.objects.count() == 1


def test_it_refuses_bad_counter_input_with_a_clear_error_and_writes_nothing(provider: None, client: Client) -> None:
    _, code = _guardian_asks_for_the_counter(client)
    staff = _counter_staff()
    for bad in (_child_form(code, documents=[]), _child_form(code, documents=["passport"]),
                _child_form(code, birth_date="2016-02-30"), _child_form(code, name=""),
                _child_form("ZZZZ-ZZZZ")):  # fmt: skip
        answer = staff.post("/staff/guardians/", bad)
        assert answer.status_code == 400, bad
    assert staff.get("/staff/guardians/", {"code": "ZZZZ-ZZZZ"}).status_code == 404
    assert Guardianship.objects.count() == 0
    assert CounterRequest.objects.get(code=code).used_at is None


def test_it_opens_the_counter_page_to_permitted_staff_only(provider: None, client: Client) -> None:
    assert Client().get("/staff/guardians/").status_code == 302  # to the staff login
    assert _counter_staff("no-permission", permitted=False).get("/staff/guardians/").status_code == 302
    guardian = _guardian()
    login_client(client, guardian, CARD_LOGIN)  # a resident is not staff
    assert client.get("/staff/guardians/").status_code == 302
    assert client.post("/me/children/add/counter/").status_code == 302  # no child's card proved: nothing kept
    assert not CounterRequest.objects.exists()


def test_it_links_my_children_from_my_account(provider: None, client: Client) -> None:
    login_client(client, _guardian(), CARD_LOGIN)
    assert 'href="/me/children/"' in client.get("/me/").content.decode()
