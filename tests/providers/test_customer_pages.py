"""The sample providers' own side: customer records by pairwise sub (one per provider), the address history, the
customer page in Japanese and English, and refusals of unknown providers."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from anchorid.providersim import customers
from anchorid.providersim.models import AddressChange, Customer
from anchorid.providersim.providers import PROVIDERS
from support.ssf_transmitter import NEW_ADDRESS, Transmitter

pytestmark = pytest.mark.django_db

ADDRESS = {"formatted": "神奈川県鎌倉市御成町1番1号", "region": "神奈川県", "locality": "鎌倉市", "country": "JP"}


def signed_in(provider: str, sub: str) -> Client:
    browser = Client()
    session = browser.session
    session[f"providersim_{provider}_sub"] = sub
    session.save()
    return browser


def test_it_keeps_one_record_per_provider_and_sub() -> None:
    first = customers.record_login(PROVIDERS["water"], "sub-w", "鎌倉 花子", ADDRESS)
    again = customers.record_login(PROVIDERS["water"], "sub-w", "鎌倉 花子", ADDRESS)
    other = customers.record_login(PROVIDERS["bank"], "sub-b", "鎌倉 花子", ADDRESS)
    assert first.pk == again.pk
    assert other.pk != first.pk
    assert Customer.objects.count() == 2
    assert list(AddressChange.objects.values_list("source", flat=True)) == ["signup", "signup"]


def test_it_records_an_address_given_at_a_later_login_as_a_change() -> None:
    customers.record_login(PROVIDERS["water"], "sub-w", "鎌倉 花子", ADDRESS)
    customers.record_login(PROVIDERS["water"], "sub-w", "鎌倉 花子", NEW_ADDRESS)
    customer = Customer.objects.get()
    assert customer.address == NEW_ADDRESS
    assert list(customer.changes.values_list("source", flat=True)) == ["login", "signup"]


def test_it_shows_the_address_on_file_and_its_history_in_japanese_and_english(
    transmitter: Transmitter, push_token: str, provider_files: Path
) -> None:
    customers.record_login(PROVIDERS["electricity"], "sub-1", "鎌倉 花子", ADDRESS)
    token = transmitter.sign(transmitter.claims())
    response = Client().post("/electricity/ssf/events", data=token, content_type="application/secevent+jwt",
                             HTTP_AUTHORIZATION=f"Bearer {push_token}")  # fmt: skip
    assert response.status_code == 202
    browser = signed_in("electricity", "sub-1")
    page = browser.get("/electricity/").content.decode()
    assert f'<dd data-field="address">{NEW_ADDRESS["formatted"]}</dd>' in page
    assert "登録されている住所" in page
    assert "AnchorIDから届いた住所変更" in page
    assert page.count('<tr data-source="') == 2
    english = browser.get("/electricity/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Address on file" in english
    assert "Address change sent by AnchorID" in english
    # Another provider's page knows nothing of this customer.
    assert 'id="signup-anchorid"' in browser.get("/water/").content.decode()


def test_it_offers_sign_up_and_lists_every_provider() -> None:
    index = Client().get("/").content.decode()
    assert all(f'data-provider="{slug}"' in index for slug in PROVIDERS)
    page = Client().get("/bank/").content.decode()
    assert 'id="signup-anchorid"' in page
    assert "AnchorIDで申し込む" in page


def test_it_answers_404_for_an_unknown_provider() -> None:
    assert Client().get("/gas/").status_code == 404
    assert Client().post("/gas/ssf/events", data="x", content_type="application/secevent+jwt").status_code == 404


def test_it_refuses_a_sign_up_callback_nobody_started(provider_files: Path) -> None:
    response = Client().get("/electricity/callback/?code=abc&state=xyz")
    assert response.status_code == 302
    assert Customer.objects.count() == 0
