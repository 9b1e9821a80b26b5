"""Just-in-time OCSP at login against a real jlis: an old anchor is checked when a passkey login comes; a revocation
found there is recorded like a sweep's; jlis down does not stop a passkey login; a recent sweep counts as a check."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from django.utils import timezone
from pytest_django.fixtures import Settings

from anchorid.idp.accounts.models import Account, AnchorCertificate
from anchorid.idp.assurance import Authentication, Level, Method
from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.lifecycle.models import Notice, SweepRun
from anchorid.idp.sessions import log_in

from .lifecycle_support import ADULT_JIT, ADULT_PLAIN, Helper, Jlis, closed_port_url, onboarded

PASSKEY_LOGIN = Authentication(Level.DERIVED_HARDWARE, (Method.PASSKEY, Method.USER_VERIFICATION))
LONG_AGO = datetime.timedelta(days=2)


def _passkey_login(account: Account) -> Any:
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.user = AnonymousUser()
    log_in(request, account, PASSKEY_LOGIN)
    return request


def _age(account: Account) -> datetime.datetime:
    old = timezone.now() - LONG_AGO
    AnchorCertificate.objects.filter(account=account).update(checked_at=old)
    return old


@pytest.mark.django_db
def test_it_checks_an_old_anchor_at_jlis_on_a_passkey_login_and_records_a_revocation(
    jlis: Jlis, card_helper: Callable[..., Helper], settings: Settings
) -> None:
    settings.ANCHORID_ANCHOR_MAX_CHECK_AGE = 3600
    account, _client, _helper, card = onboarded(jlis, card_helper, ADULT_JIT)
    old = _age(account)
    _passkey_login(account)
    anchor = AnchorCertificate.objects.get(account=account)
    assert anchor.status == "good"
    assert anchor.checked_at > old + LONG_AGO / 2  # asked jlis: good

    jlis.cli("hold", "--resident", str(card["resident_id"]))
    _age(account)
    request = _passkey_login(account)  # the passkey still logs in: a hold stops card-level login only
    assert request.session["_auth_user_id"] == str(account.pk)
    anchor.refresh_from_db()
    assert (anchor.status, anchor.revocation_reason) == ("revoked", "certificateHold")
    entry = AuditEntry.objects.get(event_type="anchor_certificate_revoked")
    assert entry.details["detected_by"] == "ocsp"
    assert entry.details["reason"] == "certificate_hold"
    assert Notice.objects.get(account=account).kind == Notice.Kind.CARD_HELD
    account.refresh_from_db()
    assert account.attributes_stale_reason == "certificateHold"


@pytest.mark.django_db
def test_it_lets_a_passkey_login_through_when_jlis_is_unreachable(
    jlis: Jlis, card_helper: Callable[..., Helper], settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.ANCHORID_ANCHOR_MAX_CHECK_AGE = 3600
    account, _client, _helper, _card = onboarded(jlis, card_helper, ADULT_PLAIN)
    old = _age(account)
    settings.ANCHORID_JLIS_URL = closed_port_url()
    with caplog.at_level(logging.WARNING, logger="anchorid.idp.lifecycle.jit"):
        request = _passkey_login(account)
    assert request.session["_auth_user_id"] == str(account.pk)
    anchor = AnchorCertificate.objects.get(account=account)
    assert (anchor.status, anchor.checked_at) == ("good", old)  # unknown stays unknown: no mark either way
    assert "anchor check at login skipped" in caplog.text
    assert not Notice.objects.exists()


@pytest.mark.django_db
def test_it_counts_a_recent_sweep_as_the_anchors_last_check(
    jlis: Jlis, card_helper: Callable[..., Helper], settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.ANCHORID_ANCHOR_MAX_CHECK_AGE = 3600
    account, _client, _helper, _card = onboarded(jlis, card_helper, ADULT_PLAIN)
    _age(account)
    anchor = AnchorCertificate.objects.get(account=account)
    SweepRun.objects.create(
        status=SweepRun.Status.OK,
        crl_issuer_fingerprint=anchor.issuer_fingerprint,
        crl_this_update=timezone.now() - datetime.timedelta(minutes=10),
        finished_at=timezone.now(),
    )
    settings.ANCHORID_JLIS_URL = closed_port_url()  # a check would be attempted (and logged) if one were due
    with caplog.at_level(logging.WARNING, logger="anchorid.idp.lifecycle.jit"):
        _passkey_login(account)
    assert "anchor check at login skipped" not in caplog.text
