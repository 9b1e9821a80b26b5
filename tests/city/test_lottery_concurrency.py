"""One person submitting many entries at once (double clicks, several tabs) gets exactly the allowed number: the
entries are serialised by a row lock on the person (SQLite: one writer at a time), not by a check that two
requests could both pass."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.utils import timezone

from anchorid.city.lottery import service
from anchorid.city.lottery.models import Entry, LotteryRound
from anchorid.city.lottery.service import LotteryError

from .lottery_support import lottery_facility, make_slots, resident

ATTEMPTS = 12


@pytest.mark.django_db(transaction=True)
def test_it_lets_concurrent_entries_of_one_person_past_the_cap_never() -> None:
    now = timezone.now()
    slots = make_slots(lottery_facility(), 3, start=now + dt.timedelta(days=40))
    round_ = LotteryRound.objects.create(title_ja="抽選", title_en="Lottery", max_entries_per_user=2,
                                         entries_open_at=now - dt.timedelta(hours=1),
                                         entries_close_at=now + dt.timedelta(days=1),
                                         confirm_by=now + dt.timedelta(days=2))  # fmt: skip
    service.add_slots(round_, slots)
    service.commit_seed(round_)
    person = resident("double clicker")
    start = threading.Barrier(ATTEMPTS)

    def attempt(i: int) -> str:
        try:
            start.wait()
            service.enter(round_, person, [slots[i % 3].pk])
            return "entered"
        except LotteryError:
            return "refused"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        outcomes = list(pool.map(attempt, range(ATTEMPTS)))
    assert outcomes.count("entered") == 2
    assert outcomes.count("refused") == ATTEMPTS - 2
    assert Entry.objects.filter(user=person).count() == 2
    assert Entry.objects.filter(user=person).values("participant").distinct().count() == 1
