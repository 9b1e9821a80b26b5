"""The CRL sweep against a real jlis: moves, holds, deaths and expiry are found in one pass over every anchor,
only changed rows are written, the resident is told (notice and e-mail), and nothing but a trusted, fresh CRL
changes anything."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core import mail
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from anchorid.idp.accounts.models import Account, AnchorCertificate
from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.audit.verify import verify_log
from anchorid.idp.lifecycle import notices
from anchorid.idp.lifecycle.models import ContactEmail, Notice, SweepRun
from anchorid.idp.lifecycle.sweep import SweepFailed, run_sweep
from anchorid.idp.oidc import ida
from support.crl_server import serving_crl

from .lifecycle_support import (
    ADULT_DEAD,
    ADULT_HELD,
    ADULT_MOVED,
    ADULT_PLAIN,
    ADULT_RENAMED,
    Helper,
    Jlis,
    card_serial,
    jlis_signature_ca,
    make_crl,
    onboarded,
)


def _verified_contact(account: Account, address: str = "resident@example.test") -> None:
    ContactEmail.objects.create(account=account, address=address, verified_at=timezone.now())


@pytest.mark.django_db
def test_it_marks_a_moved_residents_attributes_stale_tells_them_and_asks_to_reverify(
    jlis: Jlis, card_helper: Callable[..., Helper], django_capture_on_commit_callbacks: Any
) -> None:
    account, _client, _helper, card = onboarded(jlis, card_helper, ADULT_MOVED)
    plain, _, _, _ = onboarded(jlis, card_helper, ADULT_PLAIN)
    _verified_contact(account)
    new_address = "神奈川県鎌倉市雪ノ下三丁目9番9号"
    jlis.cli("move", "--resident", str(card["resident_id"]), "--address", new_address)

    with django_capture_on_commit_callbacks(execute=True):
        summary = run_sweep()

    assert summary.newly_revoked == {"affiliationChanged": 1}
    assert summary.checked >= 2
    assert summary.reverify_notices == 1
    assert summary.refreshed == 0
    anchor = AnchorCertificate.objects.get(account=account, current=True)
    assert (anchor.status, anchor.revocation_reason) == ("revoked", "affiliationChanged")
    assert anchor.revoked_at is not None
    account.refresh_from_db()
    assert account.attributes_stale
    assert account.attributes_stale_reason == "affiliationChanged"
    assert account.status == Account.Status.ACTIVE
    verification = ida.verification(
        account.attributes_verified_at, account.attributes_stale_since, account.attributes_stale_reason
    )
    assert verification[ida.STALE_MEMBER]["reason"] == "affiliationChanged"
    plain.refresh_from_db()
    assert not plain.attributes_stale
    assert AnchorCertificate.objects.get(account=plain, current=True).status == "good"
    kinds = sorted(Notice.objects.filter(account=account).values_list("kind", flat=True))
    assert kinds == [Notice.Kind.ANCHOR_REVOKED, Notice.Kind.REVERIFY]
    assert len(mail.outbox) == 2
    assert all(message.to == ["resident@example.test"] for message in mail.outbox)
    assert all(new_address not in message.body and "/me/" in message.body for message in mail.outbox)
    entry = AuditEntry.objects.get(event_type="anchor_certificate_revoked")
    assert entry.subject == str(account.pk)
    assert entry.details == {
        "certificate_fingerprint": anchor.fingerprint,
        "reason": "affiliation_changed",
        "detected_by": "crl",
    }
    assert SweepRun.objects.get(pk=summary.run_id).status == SweepRun.Status.OK
    assert verify_log({}).ok  # the batch append kept the hash chain intact

    again = run_sweep()  # only rows that changed are touched: nothing new
    assert again.newly_revoked == {}
    assert again.reverify_notices == 0
    assert Notice.objects.filter(account=account).count() == 2
    assert AuditEntry.objects.filter(event_type="anchor_certificate_revoked").count() == 1


@pytest.mark.django_db
def test_it_shows_the_notice_in_my_account_and_marks_it_read(jlis: Jlis, card_helper: Callable[..., Helper]) -> None:
    account, client, _helper, card = onboarded(jlis, card_helper, ADULT_RENAMED)
    jlis.cli("rename", "--resident", str(card["resident_id"]), "--family-name", "新姓", "--given-name", "花子")
    run_sweep()
    page = client.get("/me/")
    assert page.status_code == 200
    assert b'data-notice="anchor_revoked"' in page.content
    notice = Notice.objects.get(account=account, kind=Notice.Kind.ANCHOR_REVOKED)
    assert client.post(f"/me/notices/{notice.pk}/read/").status_code == 302
    assert b'data-notice="anchor_revoked"' not in client.get("/me/").content
    assert notices.unread(account) == [Notice.objects.get(account=account, kind=Notice.Kind.REVERIFY)]


@pytest.mark.django_db
def test_it_stops_card_login_at_once_on_hold_and_keeps_the_account_open(
    jlis: Jlis, card_helper: Callable[..., Helper]
) -> None:
    account, _client, helper, card = onboarded(jlis, card_helper, ADULT_HELD)
    jlis.cli("hold", "--resident", str(card["resident_id"]))

    summary = run_sweep()

    assert summary.newly_revoked == {"certificateHold": 1}
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE  # passkeys and device certificates stay usable
    assert account.attributes_stale_reason == "certificateHold"
    assert list(Notice.objects.filter(account=account).values_list("kind", flat=True)) == [Notice.Kind.CARD_HELD]
    # Card login is refused: the card check asks jlis's OCSP responder, which says revoked.
    browser = Client()
    response = browser.get("/login/card/")
    challenge = response.context["challenge"]
    signed = helper.sign(challenge)
    assert signed.status_code == 200
    refused = browser.post(
        "/login/card/complete/", data={"challenge": challenge, **signed.json()}, content_type="application/json"
    )
    assert refused.status_code >= 400
    assert "_auth_user_id" not in browser.session


@pytest.mark.django_db
def test_it_closes_the_account_of_a_deceased_resident(jlis: Jlis, card_helper: Callable[..., Helper]) -> None:
    account, client, _helper, card = onboarded(jlis, card_helper, ADULT_DEAD)
    jlis.cli("death", "--resident", str(card["resident_id"]))

    summary = run_sweep()

    assert summary.newly_revoked == {"cessationOfOperation": 1}
    account.refresh_from_db()
    assert (account.status, account.status_reason) == (Account.Status.SUSPENDED, "deceased")
    assert account.attributes_stale_reason == "cessationOfOperation"
    suspension = AuditEntry.objects.get(event_type="suspension")
    assert suspension.details == {"scope": "account", "channel": "jlis", "reason": "deceased"}
    assert client.get("/me/").status_code == 302  # the session ends with the account


@pytest.mark.django_db
def test_it_expires_an_anchor_past_its_not_after(jlis: Jlis, card_helper: Callable[..., Helper]) -> None:
    account, _client, _helper, _card = onboarded(jlis, card_helper, ADULT_PLAIN)
    past = timezone.now() - datetime.timedelta(days=1)
    AnchorCertificate.objects.filter(account=account).update(not_after=past)

    summary = run_sweep()

    assert summary.expired == 1
    assert summary.newly_revoked == {}
    anchor = AnchorCertificate.objects.get(account=account)
    assert anchor.status == AnchorCertificate.Status.EXPIRED
    account.refresh_from_db()
    assert account.attributes_stale_reason == "expired"
    entry = AuditEntry.objects.get(event_type="anchor_certificate_revoked")
    assert entry.details["detected_by"] == "validity"
    assert entry.details["reason"] == "expired"


# --- a CRL the sweep must not believe ---------------------------------------------------------------------------


def _state() -> tuple[list[tuple[str, str]], int, int, list[object]]:
    return (
        list(AnchorCertificate.objects.order_by("pk").values_list("status", "revocation_reason")),
        Notice.objects.count(),
        AuditEntry.objects.filter(event_type="anchor_certificate_revoked").count(),
        list(Account.objects.order_by("pk").values_list("attributes_stale_since", flat=True)),
    )


def _refused(settings: Settings, url: str, expected: str) -> None:
    settings.ANCHORID_JLIS_URL = url
    before = _state()
    with pytest.raises(SweepFailed, match=expected):
        run_sweep()
    assert _state() == before
    run = SweepRun.objects.order_by("-pk").first()
    assert run is not None
    assert run.status == SweepRun.Status.FAILED
    assert expected.split()[0] in run.error


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("garbage", "not a DER CRL"),
        ("wrong_signer", "not signed by a trusted"),
        ("stale", "stale"),
        ("future", "in the future"),
    ],
)
def test_it_fails_on_an_untrustworthy_crl_and_changes_nothing(
    jlis: Jlis, card_helper: Callable[..., Helper], settings: Settings, case: str, expected: str
) -> None:
    account, _client, _helper, card = onboarded(jlis, card_helper, ADULT_PLAIN)
    issuer = jlis_signature_ca(jlis)
    now = datetime.datetime.now(datetime.UTC)
    day = datetime.timedelta(days=1)
    serials = [card_serial(card)]  # the CRL would revoke this account's anchor, if it were believed
    if case == "garbage":
        body = b"\x30\x82 this is not a CRL"
    elif case == "wrong_signer":
        forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        body = make_crl(issuer, forger, serials, this_update=now, next_update=now + day)
    elif case == "stale":
        body = make_crl(issuer, jlis.ca_key(), serials, this_update=now - 3 * day, next_update=now - 2 * day)
    else:
        body = make_crl(issuer, jlis.ca_key(), serials, this_update=now + day, next_update=now + 2 * day)
    with serving_crl(body) as url:
        _refused(settings, url, expected)
    assert AnchorCertificate.objects.get(account=account).status == "good"


@pytest.mark.django_db
def test_it_refuses_a_crl_older_than_one_already_used(
    jlis: Jlis, card_helper: Callable[..., Helper], settings: Settings
) -> None:
    _account, _client, _helper, card = onboarded(jlis, card_helper, ADULT_PLAIN)
    first = run_sweep()
    assert first.crl_number is not None
    now = datetime.datetime.now(datetime.UTC)
    older = make_crl(
        jlis_signature_ca(jlis),
        jlis.ca_key(),
        [card_serial(card)],
        this_update=now,
        next_update=now + datetime.timedelta(days=1),
        number=first.crl_number - 1,
    )
    with serving_crl(older) as url:
        _refused(settings, url, "CRL rejected")


@pytest.mark.django_db
def test_it_opens_the_account_page_with_the_lifecycle_sections(jlis: Jlis, card_helper: Callable[..., Helper]) -> None:
    _account, client, _helper, _card = onboarded(jlis, card_helper, ADULT_PLAIN)
    page = client.get("/me/")
    assert b'id="refresh-heading"' in page.content
    assert b'id="contact-heading"' in page.content


@pytest.mark.django_db
def test_it_finds_the_same_revocations_streaming_every_anchor_and_probing_the_index(
    jlis: Jlis, card_helper: Callable[..., Helper], settings: Settings
) -> None:
    from anchorid.idp import jlis_client
    from anchorid.idp.lifecycle.revocation_list import load_revocation_list
    from anchorid.idp.lifecycle.sweep import find_changes

    account, _client, _helper, card = onboarded(jlis, card_helper, ADULT_PLAIN)
    now = datetime.datetime.now(datetime.UTC)
    listed = [card_serial(card), *range(10**15, 10**15 + 50)]  # one anchor among serials of no account
    der = make_crl(
        jlis_signature_ca(jlis), jlis.ca_key(), listed, this_update=now, next_update=now + datetime.timedelta(days=1)
    )
    crl = load_revocation_list(der, jlis_client.trust_anchors().signature, now=now)
    found = {}
    for strategy in ("stream", "probe"):
        settings.ANCHORID_SWEEP_STRATEGY = strategy
        checked, changes, release = find_changes(crl, now)
        found[strategy] = (checked, [(c.anchor_id, c.reason) for c in changes], release)
    anchor = AnchorCertificate.objects.get(account=account)
    assert found["stream"] == found["probe"] == (1, [(anchor.pk, "affiliationChanged")], [])
    settings.ANCHORID_SWEEP_STRATEGY = "sideways"
    with pytest.raises(SweepFailed, match="ANCHORID_SWEEP_STRATEGY"):
        find_changes(crl, now)
