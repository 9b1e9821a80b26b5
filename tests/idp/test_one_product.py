"""Issue 18 §3 at the idp: one product in Japanese and English. Each test is one item found by trying the pages as a
new resident would; each failed on the code before the fix."""

from __future__ import annotations

import datetime
import re
from html import unescape
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client
from django.utils.translation import gettext_lazy

from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import CARD_LOGIN
from anchorid.idp.audit.chain import append
from anchorid.idp.audit.events import EventType
from anchorid.idp.oidc import clients
from anchorid.idp.selfservice.presentation import describe_entry

from .idp_helpers import login_client
from .test_selfservice import _idp, account  # noqa: F401 (fixtures: the idp origin, a resident with attributes)

pytestmark = pytest.mark.django_db
SRC = Path(__file__).resolve().parents[2] / "src" / "anchorid"


@pytest.fixture
def resident(client: Client, request: pytest.FixtureRequest) -> Client:
    login_client(client, request.getfixturevalue("account"), CARD_LOGIN)
    return client


def text(html: str) -> str:
    body = re.sub(r"(?s)<(script|style|title)\b.*?</\1>", " ", html)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_it_shows_neither_the_acr_urn_nor_a_nameless_wallet_to_the_resident(resident: Client) -> None:
    page = resident.get("/me/").content.decode()
    assert "urn:anchorid" not in page  # not even in a title attribute
    assert ": —" not in text(page)


def test_it_names_every_activity_and_the_service_a_consent_went_to(resident: Client) -> None:
    holder = Account.objects.get()
    clients.register(client_id="city-portal", name="鎌倉市ポータル", redirect_uris=["https://city.example/cb"],
                     scopes=["openid"], auth_method="none", profile="simple", fetch_sector=False)  # fmt: skip
    with transaction.atomic():
        append(EventType.CONSENT_GIVEN, str(holder.pk), str(holder.pk), {"client_id": "city-portal", "claims": []})
        append(EventType.DOCUMENT_SIGNED, str(holder.pk), str(holder.pk), {"method": "card"})
    page = text(resident.get("/me/activity/").content.decode())
    for event in EventType:
        assert event.value not in page
    assert "鎌倉市ポータル に同意" in page
    assert "文書に署名" in page
    for event in EventType:  # every event the log may hold has a label of its own
        line = describe_entry(type("Entry", (), {"event_type": event.value, "details": {}, "time": None, "seq": 0})())
        assert line.what != "その他の操作", event


def test_it_titles_every_page_with_a_separator(client: Client) -> None:
    from anchorid.common import display  # new in issue 18: imported here so the other tests fail on their own

    for path in ("/login/", "/onboarding/", "/verify/"):
        title = re.search(r"<title>(.*?)</title>", client.get(path).content.decode(), re.S)
        assert title
        assert title.group(1).endswith(" | AnchorID"), title.group(1)
    assert display.page_title("サンプル事業者", "サンプル事業者") == "サンプル事業者"
    assert display.page_title("", "AnchorID") == "AnchorID"
    # a site name that is a lazy translation comes back as text (a proxy made the currency's pages fail with 500)
    assert type(display.page_title("", gettext_lazy("AnchorID"))) is str


def test_it_writes_english_times_without_a_doubled_full_stop(resident: Client) -> None:
    resident.cookies["django_language"] = "en"
    page = text(resident.get("/me/").content.decode())
    assert "p.m." not in page
    assert "a.m." not in page
    assert ".." not in page


def test_it_shows_the_signing_pages_in_japanese(resident: Client) -> None:
    sign = text(resident.get("/me/sign/").content.decode())
    assert "Sign a document" not in sign
    assert "文書に署名する" in sign
    verify = resident.get("/verify/").content.decode()
    assert '<label for="document">' in verify  # the file input has a label
    assert "Verify a signed PDF" not in text(verify)


def test_it_calls_the_signature_password_by_one_name() -> None:
    catalogues = "".join(path.read_text() for path in SRC.glob("**/locale/ja/LC_MESSAGES/django.po"))
    assert "署名用暗証番号" not in catalogues
    assert "署名用パスワード" in catalogues


def test_it_formats_amounts_lists_and_dates_one_way_per_language() -> None:
    from django.utils import translation

    from anchorid.common import display

    with translation.override("ja"):
        assert display.yen(42000) == "42,000円"
        assert display.listing(["氏名", "住所"]) == "氏名、住所"
    with translation.override("en"):
        assert display.yen(1200) == "¥1,200"
        assert display.listing(["Name", "Address"]) == "Name, Address"
        assert "p.m." not in display.when(datetime.datetime(2026, 12, 7, 14, 31, tzinfo=datetime.UTC))


def test_it_names_the_gender_in_the_page_language(resident: Client) -> None:
    japanese = text(resident.get("/me/").content.decode())
    resident.cookies["django_language"] = "en"
    english = text(resident.get("/me/").content.decode())
    assert re.search(r"性別 (男性|女性|不明)", japanese), japanese
    assert re.search(r"Gender (Male|Female|Not stated)\b", english), english
    assert not re.search(r"Gender (male|female|not stated)\b", english)


def test_it_puts_the_onboarding_message_above_the_qr_code(client: Client) -> None:
    page = client.get("/onboarding/").content.decode()
    status, qr = page.find('id="onboarding-status"'), page.find('class="onboarding-qr"')
    assert status != -1
    assert qr != -1
    assert status < qr  # on a phone the QR fills the screen: a message after it is off-screen
