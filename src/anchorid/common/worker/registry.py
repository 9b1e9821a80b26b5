"""The background jobs of each party: ``anchorid.<party>.jobs.jobs()`` lists them (only those turned on).

A job is leased (the default): the worker runs ``work()`` when the job is due, under the job's lease
(``leases``), on one worker at a time across every process and machine on the party's database, then schedules
the next run ``interval`` seconds after this one ended (sooner, with backoff, after a failure). A job that is not
leased (``leased=False``) does its own concurrency control (the Shared Signals delivery leases one stream at a
time; the idp's lifecycle jobs keep their own lease rows): every worker calls ``work()`` every ``interval``
seconds, at once again when it returned something true (there was work; there may be more), in ``threads``
threads.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: The module that declares each party's jobs (a party not named here has none).
JOB_MODULES = {
    "jlis": "anchorid.jlis.jobs",
    "idp": "anchorid.idp.jobs",
    "city": "anchorid.city.jobs",
    "currency": "anchorid.currency.jobs",
    "library": "anchorid.library.jobs",
}


class JobFailed(Exception):
    """A job's run failed in a way its own code already reported (the worker logs one line, no traceback)."""


@dataclass(frozen=True)
class Job:
    name: str
    interval: float
    work: Callable[[], Any]
    leased: bool = True
    threads: int = 1


def party_jobs(party: str) -> list[Job]:
    """The jobs ``party`` runs now (its settings loaded): those turned off by their settings are left out."""
    module = JOB_MODULES.get(party)
    if module is None:
        return []
    found: list[Job] = importlib.import_module(module).jobs()
    return [job for job in found if job.interval > 0]
