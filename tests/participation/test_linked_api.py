"""``GET /api/v1/status`` for linked services (issue 17): the votes open now that this person has not voted in,
by the platform's pairwise ``sub``; and the refusals of anything but a valid exchanged token for the platform (the
whole exchange against a live idp is tests/interop/test_linked_home.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from anchorid.participation import api, service
from anchorid.participation.models import VoterParticipation
from support.linked_tokens import ReadApiRefusals

from .conftest import person

pytestmark = pytest.mark.django_db


def test_it_lists_the_open_votes_this_person_has_not_voted_in(make_process: Callable[..., Any], settings: Any) -> None:
    settings.ANCHORID_PARTICIPATION_ORIGIN = "http://vote.test"
    voted, p = make_process(slug="voted")
    make_process(slug="open")
    make_process("ideas", slug="ideas")
    make_process("results", slug="closed")
    service.cast(voted.pk, person("alice"), [p[0].pk, p[1].pk])

    answer = api.open_votes("alice")
    assert answer == {"open_votes": [{"title": "Process open", "url": "http://vote.test/processes/open/",
                                      "who_may_vote": "resident", "municipality_code": "142042",
                                      "adults_only": False}]}  # fmt: skip
    assert [vote["title"] for vote in api.open_votes("bob")["open_votes"]] == ["Process voted", "Process open"]
    assert "alice" not in str(answer)
    assert VoterParticipation.objects.count() == 1  # asking wrote nothing


class TestTheParticipationStatusApi(ReadApiRefusals):
    client_id = "participation"
    api = api
    path = "/api/v1/status"
