"""E-mail notifications, opt-in: an address given on the notifications page is used only after its link was opened;
then the in-app notifications also go there (one message per recipient); removing it stops them; bad addresses,
forged or expired links, posts without CSRF are refused and store nothing; the address is in no export."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from anchorid.participation import service
from anchorid.participation.identity import LOGIN_KEY
from anchorid.participation.models import EmailAddress, Process, Proposal

from .conftest import CITY, person

pytestmark = pytest.mark.django_db


def logged_in(sub: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    session = client.session
    session[LOGIN_KEY] = {"sub": sub, "claims": {"resident_of": CITY}, "id_token": "x"}
    session.save()
    return client


def _link(message: mail.EmailMessage) -> str:
    found = re.search(r"(/notifications/email/verify/[\w-]+/)", str(message.body))
    assert found, message.body
    return found.group(1)


def test_it_sends_notifications_by_e_mail_only_after_the_address_is_confirmed(
    django_capture_on_commit_callbacks: object,
) -> None:
    process = Process.objects.create(slug="ideas", title="Ideas")
    author = logged_in("author")
    author.post("/processes/ideas/propose/", {"title": "Benches", "body": "More benches"})
    proposal = Proposal.objects.get()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        assert author.post("/notifications/email/", {"address": "author@example.jp"}).status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["author@example.jp"]
    link = _link(mail.outbox[0])
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        service.comment(person("commenter"), "Good idea", proposal=proposal)
    assert len(mail.outbox) == 1  # not confirmed yet: in-app only
    assert Client().get(link).status_code == 302
    assert Client().get(link).status_code == 400  # used once
    assert EmailAddress.objects.get().verified
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        service.comment(person("commenter"), "Really good", proposal=proposal)
    assert len(mail.outbox) == 2
    assert mail.outbox[1].to == ["author@example.jp"]
    assert f"/proposals/{proposal.pk}/" in str(mail.outbox[1].body)
    page = author.get("/notifications/").content.decode()
    assert "author@example.jp" in page
    assert "author@example.jp" not in json.dumps(service.open_data(process)) + service.open_data_csv(process)
    assert "author@example.jp" not in Client().get("/notifications/").content.decode()  # only its owner sees it
    assert author.post("/notifications/email/", {"remove": "1"}).status_code == 302
    assert not EmailAddress.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        service.comment(person("commenter"), "Again", proposal=proposal)
    assert len(mail.outbox) == 2


@pytest.mark.parametrize("address", ["", "not-an-address", "a@b", "<script>@x.jp", "x" * 250 + "@example.jp"])
def test_it_refuses_a_bad_address_and_stores_nothing(address: str) -> None:
    response = logged_in("someone").post("/notifications/email/", {"address": address})
    assert response.status_code == 400
    assert 'id="refusal"' in response.content.decode()
    assert not EmailAddress.objects.exists()
    assert not mail.outbox


def test_it_refuses_forged_expired_links_nobody_and_csrf_less_posts(django_capture_on_commit_callbacks: object) -> None:
    assert Client().post("/notifications/email/", {"address": "x@example.jp"}).status_code == 403  # took no part
    client = logged_in("late")
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        client.post("/notifications/email/", {"address": "late@example.jp"})
    link = _link(mail.outbox[0])
    assert link.split("/")[-2] not in str(EmailAddress.objects.values().get())  # stored only as a hash
    assert Client().get("/notifications/email/verify/forged-token/").status_code == 400
    assert Client().get("/notifications/email/verify/" + "x" * 200 + "/").status_code == 400
    EmailAddress.objects.update(token_expires=timezone.now() - timedelta(seconds=1))
    assert Client().get(link).status_code == 400  # older than a day
    assert not EmailAddress.objects.filter(verified=True).exists()
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/notifications/email/", {"address": "y@example.jp"}).status_code == 403
    assert list(EmailAddress.objects.values_list("address", "verified")) == [("late@example.jp", False)]
