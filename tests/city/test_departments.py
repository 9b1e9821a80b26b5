"""The city's departments as one SSF receiver (audience: the city's client_id): a login opens each department's
record; a claims-change SET updates every department once, in one transaction with its jti; refusals change nothing;
the resident sees what each department holds (Japanese first, English available)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from anchorid.city.departments import records
from anchorid.city.departments.models import RecordChange, ResidentRecord, TaxRecord
from anchorid.city.models import ResidentSession
from anchorid.city.rp import setup
from anchorid.common.settings_base import DATA_DIR
from anchorid.ssf_receiver.models import ReceivedSet
from anchorid.ssf_receiver.setup import RECEIVER_FILE, ensure_receiver_file
from support.ssf_transmitter import NEW_ADDRESS, Transmitter, serve_transmitter

from .test_home import logged_in_client

pytestmark = pytest.mark.django_db

OLD_ADDRESS = {"formatted": "神奈川県鎌倉市御成町1番1号", "region": "神奈川県", "locality": "鎌倉市", "country": "JP"}


@pytest.fixture
def transmitter() -> Iterator[Transmitter]:
    yield from serve_transmitter(setup.DEFAULT_CLIENT_ID)


@pytest.fixture
def push_token(transmitter: Transmitter) -> Iterator[str]:
    """The city set up against the test transmitter; its files removed afterwards (other tests run unconfigured)."""
    written = [DATA_DIR / setup.CONFIG_FILE, DATA_DIR / RECEIVER_FILE]
    setup.ensure_keys(DATA_DIR)
    setup.write_config(DATA_DIR, issuer=transmitter.issuer, origin="http://testserver")
    token: str = ensure_receiver_file(DATA_DIR, endpoint_url="http://testserver/ssf/events")["push_token"]
    records.receiver.cache_clear()
    yield token
    records.receiver.cache_clear()
    for path in written:
        Path(path).unlink(missing_ok=True)


def push(token: str, push_token: str) -> Any:
    return Client().post("/ssf/events", data=token, content_type="application/secevent+jwt",
                         HTTP_AUTHORIZATION=f"Bearer {push_token}")  # fmt: skip


def test_it_opens_each_departments_record_at_login_with_the_address() -> None:
    records.on_login("sub-1", {"name": "鎌倉 花子", "address": OLD_ADDRESS})
    records.on_login("sub-1", {"address": NEW_ADDRESS})  # a later login changes nothing: events do
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
    browser = logged_in_client(Client(), {"sub": "sub-1"})
    ResidentSession.objects.create(session_key=browser.session.session_key, sub="sub-1")
    page = browser.get("/departments/").content.decode()
    assert "市民課" in page
    assert "税務課" in page
    assert page.count(NEW_ADDRESS["formatted"]) >= 2
    assert "AnchorIDから届いた住所変更" in page
    english = browser.get("/departments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Address change sent by AnchorID" in english


def test_it_sends_a_resident_without_a_login_to_the_home_page() -> None:
    response = Client().get("/departments/")
    assert response.status_code == 302
    assert response["Location"] == "/"
