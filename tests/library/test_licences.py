"""Licence models as vendors sell them: one-copy-one-user ends at exactly the 52nd loan or at 2 years, metered at
its count, simultaneous use never blocks, pay-per-use draws on the budget; an ended licence leaves the shelf and
enters the staff repurchase list."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from anchorid.library import circulation
from anchorid.library.models import Budget, Licence, Loan

from .conftest import make_patron, make_title, one_copy

pytestmark = pytest.mark.django_db


def _borrow_and_return(title_id: int, times: int, start: datetime.datetime) -> datetime.datetime:
    now = start
    patron = make_patron()
    for _ in range(times):
        loan = circulation.borrow(patron, title_id, now=now)
        now += datetime.timedelta(hours=1)
        circulation.return_loan(patron, loan.pk, now=now)
    return now


def test_it_ends_a_one_copy_licence_at_exactly_the_52nd_loan() -> None:
    title = make_title()
    licence = one_copy(title)
    now = _borrow_and_return(title.pk, 51, timezone.now())
    licence.refresh_from_db()
    assert (licence.loans_used, licence.retired_at) == (51, None)
    last = circulation.borrow(make_patron(), title.pk, now=now)  # the 52nd
    licence.refresh_from_db()
    assert licence.loans_used == 52
    assert licence.retired_reason == "loans"
    assert last.is_readable(now)  # the 52nd loan runs its course
    with pytest.raises(circulation.NotAvailable):
        circulation.borrow(make_patron(), title.pk, now=now)
    assert circulation.repurchase_list() == [licence]


def test_it_ends_a_one_copy_licence_at_two_years() -> None:
    title = make_title()
    start = timezone.now() - datetime.timedelta(days=800)
    licence = circulation.add_licence(title, Licence.Model.ONE_COPY, now=start)
    assert licence.expires_at is not None
    assert (licence.expires_at - start).days in (730, 731)
    before = licence.expires_at - datetime.timedelta(days=3)
    loan = circulation.borrow(make_patron(), title.pk, now=before)
    assert loan.due_at == licence.expires_at  # no loan outlives its licence
    with pytest.raises(circulation.NotAvailable):
        circulation.borrow(make_patron(), title.pk, now=licence.expires_at)
    circulation.sweep(now=licence.expires_at)
    licence.refresh_from_db()
    assert licence.retired_reason == "term"
    assert circulation.repurchase_list() == [licence]


def test_it_ends_a_metered_licence_at_its_count() -> None:
    title = make_title()
    licence = circulation.add_licence(title, Licence.Model.METERED, max_loans=3, cost_yen=1000)
    now = _borrow_and_return(title.pk, 3, timezone.now())
    licence.refresh_from_db()
    assert (licence.loans_used, licence.retired_reason) == (3, "loans")
    with pytest.raises(circulation.NotAvailable):
        circulation.borrow(make_patron(), title.pk, now=now)


def test_it_never_blocks_simultaneous_use() -> None:
    title = make_title()
    circulation.add_licence(title, Licence.Model.SIMULTANEOUS, cost_yen=12000)
    loans = [circulation.borrow(make_patron(), title.pk) for _ in range(25)]
    assert len({loan.licence_id for loan in loans}) == 1
    assert Loan.objects.filter(status="active").count() == 25
    assert circulation.availability(title).unlimited


def test_it_draws_pay_per_use_loans_from_the_budget_until_it_runs_out() -> None:
    Budget.objects.create(remaining_yen=400)
    title = make_title()
    circulation.add_licence(title, Licence.Model.PAY_PER_USE, cost_yen=180)
    circulation.borrow(make_patron(), title.pk)
    circulation.borrow(make_patron(), title.pk)
    with pytest.raises(circulation.NotAvailable):
        circulation.borrow(make_patron(), title.pk)
    budget = Budget.objects.get()
    assert (budget.remaining_yen, budget.spent_yen) == (40, 360)


def test_it_forecasts_licences_that_end_soon() -> None:
    title = make_title()
    soon = circulation.add_licence(title, Licence.Model.ONE_COPY, now=timezone.now() - datetime.timedelta(days=700))
    circulation.add_licence(title, Licence.Model.ONE_COPY)
    assert circulation.expiry_forecast(days=90) == [soon]
