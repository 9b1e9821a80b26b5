"""The city's departments as one relying party and SSF receiver (``city-departments``): sharing the address opens
each department's record; a claims-change SET updates every department once, in one transaction with its jti;
refusals change nothing; the resident sees what each department holds (Japanese first, English available)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from anchorid.city.departments import records, setup, views
from anchorid.city.departments.models import RecordChange, ResidentRecord, TaxRecord
from anchorid.common.settings_base import DATA_DIR
from anchorid.ssf_receiver.models import ReceivedSet
from anchorid.ssf_receiver.setup import ensure_receiver_file
from support.ssf_transmitter import NEW_ADDRESS, Transmitter, serve_transmitter

pytestmark = pytest.mark.django_db

OLD_ADDRESS = {"formatted": "神奈川県鎌倉市御成町1番1号", "region": "神奈川県", "locality": "鎌倉市", "country": "JP"}


@pytest.fixture
def transmitter() -> Iterator[Transmitter]:
    yield from serve_transmitter(setup.CLIENT_ID)


@pytest.fixture
def push_token(transmitter: Transmitter) -> Iterator[str]:
    """The departments set up against the test transmitter; their folder removed afterwards."""
    setup.write(DATA_DIR, issuer=transmitter.issuer, city_origin="http://testserver")
    folder = setup.folder(DATA_DIR)
    token: str = ensure_receiver_file(folder, endpoint_url="http://testserver/departments/ssf/events")["push_token"]
    records.receiver.cache_clear()
    yield token
    records.receiver.cache_clear()
    shutil.rmtree(folder)


def push(token: str, push_token: str) -> Any:
    return Client().post("/departments/ssf/events", data=token, content_type="application/secevent+jwt",
                         HTTP_AUTHORIZATION=f"Bearer {push_token}")  # fmt: skip


def test_it_opens_each_departments_record_when_the_address_is_shared() -> None:
    records.on_login("sub-1", {"name": "鎌倉 花子", "address": OLD_ADDRESS})
    records.on_login("sub-1", {"address": NEW_ADDRESS})  # sharing again changes nothing: events do
    records.on_login("sub-2", {"name": "no address shared"})
    assert ResidentRecord.objects.get(sub="sub-1").address == OLD_ADDRESS
    assert TaxRecord.objects.get(sub="sub-1").notice_address == OLD_ADDRESS
    assert not ResidentRecord.objects.filter(sub="sub-2").exists()
    assert sorted(RecordChange.objects.values_list("department", "source")) == [("residents", "login"),
                                                                                ("tax", "login")]  # fmt: skip


def test_it_updates_every_department_once_from_one_claims_change(transmitter: Transmitter, push_token: str) -> None:
    records.on_login("sub-1", {"address": OLD_ADDRESS})
    claims = transmitter.claims()
    token = transmitter.sign(claims)
    assert push(token, push_token).status_code == 202
    assert push(token, push_token).status_code == 202  # a retransmission: accepted, not applied again
    assert ResidentRecord.objects.get(sub="sub-1").address == NEW_ADDRESS
    assert TaxRecord.objects.get(sub="sub-1").notice_address == NEW_ADDRESS
    events = RecordChange.objects.filter(source="event")
    assert sorted(events.values_list("department", "txn")) == [("residents", claims["txn"]), ("tax", claims["txn"])]
    assert ReceivedSet.objects.get().outcome == "updated: residents, tax"


def test_it_refuses_a_set_for_another_client_and_changes_nothing(transmitter: Transmitter, push_token: str) -> None:
    records.on_login("sub-1", {"address": OLD_ADDRESS})
    response = push(transmitter.sign(transmitter.claims(aud="providersim-electricity")), push_token)
    assert response.status_code == 400
    assert response.json()["err"] == "invalid_audience"
    assert ResidentRecord.objects.get(sub="sub-1").address == OLD_ADDRESS
    assert not RecordChange.objects.filter(source="event").exists()
    assert not ReceivedSet.objects.exists()


def test_it_shows_the_resident_what_each_department_holds(transmitter: Transmitter, push_token: str) -> None:
    records.on_login("sub-1", {"address": OLD_ADDRESS})
    assert push(transmitter.sign(transmitter.claims()), push_token).status_code == 202
    browser = Client()
    session = browser.session
    session[views.SUB_KEY] = "sub-1"
    session.save()
    page = browser.get("/departments/").content.decode()
    assert "市民課" in page
    assert "税務課" in page
    assert page.count(NEW_ADDRESS["formatted"]) >= 2
    assert "AnchorIDから届いた住所変更" in page
    english = browser.get("/departments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Address change sent by AnchorID" in english


def test_it_offers_to_share_the_address_before_anything_is_on_file() -> None:
    page = Client().get("/departments/").content.decode()
    assert 'id="departments-connect"' in page
    assert 'id="department-records"' not in page
