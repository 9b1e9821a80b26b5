"""Participation tests (``--ds=anchorid.participation.settings``): participants are made in-process (the live idp
login is exercised by the browser journey, test_browser_journey.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.utils import translation

from anchorid.participation.identity import Participant
from anchorid.participation.models import Process, Proposal

CITY = "142042"


def person(name: str, assurance: str = "resident") -> Participant:
    """A participant as a login (or an anonymous session) would make one."""
    claims = {"resident_of": CITY, "age_over_18": True} if assurance == "resident" else {"resident_of": "131016"}
    logged_in = assurance != "anonymous"
    return Participant(subject=f"{'sub' if logged_in else 'anon'}:{name}", logged_in=logged_in,
                       claims=claims if logged_in else {}, label=f"t-{name}")  # fmt: skip


@pytest.fixture(autouse=True)
def _english_messages() -> Iterator[None]:
    """Messages raised outside a request read in English, whichever test ran before (a request activates its
    language for the thread)."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_vote_snapshots() -> Iterator[None]:
    """Each test's processes are its own: no worker snapshot of an earlier test's process of the same slug."""
    from anchorid.participation import service

    service._VOTE_SNAPSHOTS.clear()
    yield
    service._VOTE_SNAPSHOTS.clear()


@pytest.fixture
def make_process(db: None) -> Callable[..., tuple[Process, list[Proposal]]]:
    """A budget process with four projects on the ballot, in the phase asked for (default: vote)."""

    def make(phase: str = "vote", *, kind: str = "budget", slug: str = "pb", costs: tuple[int, ...] = (400, 300,
             300, 200), **fields: object) -> tuple[Process, list[Proposal]]:  # fmt: skip
        process = Process.objects.create(slug=slug, title=f"Process {slug}", vote_kind=kind, budget_total=1000,
                                         budget_min_percent=50, max_choices=2, **fields)  # fmt: skip
        proposals = [Proposal.objects.create(process=process, title=f"Project {i}", body="b", author_key="k",
                                             author_assurance="resident", author_label="t", cost=cost,
                                             status="selected") for i, cost in enumerate(costs)]  # fmt: skip
        if phase != "ideas":
            from anchorid.participation import service

            service.set_phase(process, "vote", "staff")
            if phase != "vote":
                service.set_phase(process, phase, "staff")
        process.refresh_from_db()
        return process, proposals

    return make
