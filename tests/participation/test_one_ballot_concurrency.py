"""One person, one ballot under concurrency: 200 simultaneous votes by one person (200 sessions of the same login,
each its own thread and database connection, released at once by a barrier) leave exactly one counted ballot — on
SQLite here and on PostgreSQL with DATABASE_URL. The database decides: the voter row is unique per (process, voter
key) and held for the transaction; each later vote replaces the ballot before it."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from anchorid.participation import service
from anchorid.participation.models import Ballot, VoterParticipation

from .conftest import person

VOTES = 200
PG_CONNECTIONS = 40  # the shared PostgreSQL allows 100 connections


@pytest.mark.django_db(transaction=True)
def test_it_counts_one_ballot_from_200_simultaneous_votes_by_one_person(make_process: Callable[..., Any]) -> None:
    process, p = make_process()
    baskets = [[p[0].pk, p[1].pk], [p[1].pk, p[2].pk], [p[0].pk, p[3].pk], [p[2].pk, p[3].pk]]
    receipts: list[str] = []
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(VOTES)
    gate = threading.BoundedSemaphore(PG_CONNECTIONS if connection.vendor == "postgresql" else VOTES)

    def vote(n: int) -> None:
        barrier.wait()
        with gate:
            try:
                receipt = service.cast(process.pk, person("same-person"), baskets[n % len(baskets)])
                outcome = "cast"
            except Exception as error:  # counted, then asserted: any error breaks the guarantee
                receipt, outcome = "", f"unexpected {type(error).__name__}: {error}"
            finally:
                connections.close_all()
        with lock:
            outcomes[outcome] += 1
            receipts.append(receipt)

    threads = [threading.Thread(target=vote, args=(n,)) for n in range(VOTES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert outcomes == Counter({"cast": VOTES})
    assert VoterParticipation.objects.filter(process=process).count() == 1
    ballots = list(Ballot.objects.filter(process=process).values_list("ballot_id", flat=True))
    assert len(ballots) == 1
    assert ballots[0] in receipts  # the last vote's receipt is the counted ballot
    assert service.live_result(process)["ballots_total"] == 1
