"""Circulation: the rules matrix per patron category (loans, period, holds, one renewal when nobody holds it),
loans that end on their own at the due time (access stops then, the worker's sweep records it), early return, and
the holds queue: a freed copy is kept 7 days for the next patron, who is told in-app and by e-mail, then the next."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from anchorid.library import circulation
from anchorid.library.models import CirculationRule, Hold, Loan, Notice

from .conftest import make_patron, make_title, one_copy

pytestmark = pytest.mark.django_db


def test_it_applies_the_rules_of_the_patrons_category() -> None:
    CirculationRule.objects.filter(category="commuter").update(max_loans=1, loan_days=7)
    resident, commuter = make_patron("resident"), make_patron("commuter")
    titles = [make_title(f"本{i}", f"ほん{i}") for i in range(3)]
    for title in titles:
        one_copy(title)
    loan = circulation.borrow(resident, titles[0].pk)
    assert (loan.due_at - loan.started_at).days == 14
    circulation.borrow(resident, titles[1].pk)
    with pytest.raises(circulation.CirculationError) as limit:
        circulation.borrow(resident, titles[2].pk)
    assert limit.value.code == "loan_limit"
    short = circulation.borrow(commuter, titles[2].pk)
    assert (short.due_at - short.started_at).days == 7
    with pytest.raises(circulation.CirculationError):
        circulation.borrow(commuter, titles[0].pk)


def test_it_renews_once_and_not_when_someone_holds_the_title() -> None:
    title = make_title()
    one_copy(title)
    reader, waiting = make_patron(), make_patron()
    loan = circulation.borrow(reader, title.pk)
    renewed = circulation.renew(reader, loan.pk)
    assert renewed.renewals == 1
    with pytest.raises(circulation.CirculationError) as again:
        circulation.renew(reader, loan.pk)
    assert again.value.code == "renewal_limit"
    other = make_title("別の本", "べつのほん")
    one_copy(other)
    second = circulation.borrow(reader, other.pk)
    circulation.place_hold(waiting, other.pk)
    with pytest.raises(circulation.CirculationError) as held:
        circulation.renew(reader, second.pk)
    assert held.value.code == "held"


def test_it_ends_loans_at_their_due_time_and_offers_the_copy_to_the_next_hold(
    django_capture_on_commit_callbacks: Any,
) -> None:
    title = make_title()
    one_copy(title)
    reader, first, second = make_patron(), make_patron(), make_patron()
    first.email = "first@example.invalid"
    first.save()
    now = timezone.now()
    loan = circulation.borrow(reader, title.pk, now=now)
    with pytest.raises(circulation.NotAvailable) as busy:
        circulation.borrow(first, title.pk, now=now)
    assert busy.value.hold_offered
    circulation.place_hold(first, title.pk)
    circulation.place_hold(second, title.pk)
    assert not loan.is_readable(loan.due_at)  # access ends at the due time, before any job runs
    with django_capture_on_commit_callbacks(execute=True):  # the e-mail leaves once the hold is committed
        done = circulation.sweep(now=loan.due_at)
    assert done["loans ended"] == 1
    assert done["offered"] == 1
    ready = Hold.objects.get(patron=first)
    assert ready.status == "ready"
    assert ready.ready_until == loan.due_at + datetime.timedelta(days=7)
    assert Notice.objects.filter(patron=first, kind="hold-ready").exists()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["first@example.invalid"]
    with pytest.raises(circulation.NotAvailable):  # kept for the first in the queue
        circulation.borrow(make_patron(), title.pk, now=loan.due_at)
    circulation.sweep(now=ready.ready_until)  # not collected in 7 days: the next patron's turn
    assert Hold.objects.get(patron=first).status == "expired"
    assert Hold.objects.get(patron=second).status == "ready"
    collected = circulation.borrow(second, title.pk, now=ready.ready_until)
    assert collected.status == "active"
    assert Hold.objects.get(patron=second).status == "fulfilled"


def test_it_returns_early_and_frees_the_copy() -> None:
    title = make_title()
    one_copy(title)
    reader, waiting = make_patron(), make_patron()
    loan = circulation.borrow(reader, title.pk)
    circulation.place_hold(waiting, title.pk)
    circulation.return_loan(reader, loan.pk)
    assert Loan.objects.get(pk=loan.pk).status == "returned"
    assert Hold.objects.get(patron=waiting).status == "ready"
    with pytest.raises(circulation.CirculationError) as twice:
        circulation.return_loan(reader, loan.pk)
    assert twice.value.code == "no_loan"
    with pytest.raises(circulation.CirculationError):
        circulation.return_loan(waiting, loan.pk)  # another patron's loan


def test_it_limits_holds_per_category() -> None:
    patron = make_patron()
    titles = [make_title(f"予約{i}", f"よやく{i}") for i in range(3)]
    for title in titles:
        one_copy(title)
        circulation.borrow(make_patron(), title.pk)
    circulation.place_hold(patron, titles[0].pk)
    circulation.place_hold(patron, titles[1].pk)
    with pytest.raises(circulation.CirculationError) as limit:
        circulation.place_hold(patron, titles[2].pk)
    assert limit.value.code == "hold_limit"
