"""100 patrons race for the last copy against the real database (SQLite here, PostgreSQL with DATABASE_URL): one
loan; every other patron is refused with a hold offered. Threads, each with its own connection, wait at a barrier
and borrow at once; PostgreSQL on this shared server allows ``PG_CONNECTIONS`` at a time."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, connections

from anchorid.library import circulation
from anchorid.library.models import Loan, Patron

from .conftest import make_title, one_copy

PATRONS = 100
PG_CONNECTIONS = 30


@pytest.mark.django_db(transaction=True)
def test_it_gives_the_last_copy_to_one_of_100_racing_patrons_and_offers_the_rest_a_hold() -> None:
    title = make_title()
    one_copy(title)
    Patron.objects.bulk_create(
        Patron(sub=f"racer-{i}", card_number=f"9{i:09d}", category="resident") for i in range(PATRONS)
    )
    patrons = list(Patron.objects.filter(sub__startswith="racer-"))
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(len(patrons))
    gate = threading.BoundedSemaphore(PG_CONNECTIONS if connection.vendor == "postgresql" else len(patrons))

    def attempt(patron: Patron) -> None:
        barrier.wait()
        with gate:
            try:
                circulation.borrow(patron, title.pk)
                outcome = "loan"
            except circulation.NotAvailable as busy:
                outcome = "hold offered" if busy.hold_offered else "refused without a hold"
            except Exception as error:  # anything else breaks the guarantee: counted, then asserted
                outcome = f"unexpected {type(error).__name__}: {error}"
            finally:
                connections.close_all()
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=attempt, args=(patron,)) for patron in patrons]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert outcomes == Counter({"loan": 1, "hold offered": PATRONS - 1})
    assert Loan.objects.filter(title=title, status="active").count() == 1
