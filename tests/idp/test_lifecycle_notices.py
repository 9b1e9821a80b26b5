"""The optional contact e-mail for notices: given in /me/, used only once the link mailed to it was opened by
the same logged-in resident; bad input changes nothing. Notices speak Japanese first, English on request."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client
from django.utils import translation

from anchorid.idp.lifecycle import notices
from anchorid.idp.lifecycle.models import ContactEmail, Notice

from .lifecycle_support import ADULT_OTHER_CARD, ADULT_PLAIN, Helper, Jlis, onboarded


def _link(message: mail.EmailMessage) -> str:
    match = re.search(r"http://testserver(/me/notices/email/confirm/[^/\s]+/)", message.body)
    assert match is not None, message.body
    return match.group(1)


@pytest.mark.django_db
def test_it_verifies_the_contact_address_through_the_link_mailed_to_it(
    jlis: Jlis, card_helper: Callable[..., Helper]
) -> None:
    account, client, _helper, _card = onboarded(jlis, card_helper, ADULT_PLAIN)
    assert client.post("/me/notices/email/", {"address": "not an address"}).status_code == 302
    assert not ContactEmail.objects.exists()
    assert mail.outbox == []

    assert client.post("/me/notices/email/", {"address": "taro@example.test"}).status_code == 302
    contact = ContactEmail.objects.get(account=account)
    assert contact.verified_at is None
    (message,) = mail.outbox
    assert message.to == ["taro@example.test"]
    link = _link(message)

    other, other_client, _h, _c = onboarded(jlis, card_helper, ADULT_OTHER_CARD)
    other_client.get(link)  # someone else's session cannot confirm it
    contact.refresh_from_db()
    assert contact.verified_at is None
    client.get(link.replace("/confirm/", "/confirm/x"))  # a tampered token neither
    contact.refresh_from_db()
    assert contact.verified_at is None

    assert client.get(link).status_code == 302
    contact.refresh_from_db()
    assert contact.verified_at is not None
    assert b"taro@example.test" in client.get("/me/").content

    notice = notices.create([(account.pk, Notice.Kind.CARD_HELD, "certificateHold")])[0]
    assert notices.send_emails([notice.pk]) == 1
    assert mail.outbox[-1].to == ["taro@example.test"]
    assert notices.send_emails([notice.pk]) == 0  # once

    assert client.post("/me/notices/email/", {"remove": "1"}).status_code == 302
    assert not ContactEmail.objects.filter(account=account).exists()
    assert Client().post("/me/notices/email/", {"address": "x@example.test"}).status_code == 302  # to the login
    assert ContactEmail.objects.count() == 0
    assert other.pk != account.pk


def test_it_describes_notices_in_japanese_first_and_in_english() -> None:
    with translation.override("ja"):
        japanese = notices.describe(Notice.Kind.ANCHOR_REVOKED, "affiliationChanged")
    with translation.override("en"):
        english = notices.describe(Notice.Kind.ANCHOR_REVOKED, "affiliationChanged")
    assert "署名用電子証明書が失効" in japanese
    assert "住所または氏名" in japanese
    assert "was revoked" in english
    assert "address or name changed" in english
