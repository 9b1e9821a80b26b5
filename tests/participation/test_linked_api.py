"""``GET /api/v1/status`` for linked services (issue 17): the votes open now that this person has not voted in,
by the platform's pairwise ``sub``; and the refusals of anything but a valid exchanged token for the platform (the
whole exchange against a live idp is tests/interop/test_linked_home.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from anchorid.common.rp.resource_server import ResourceServer
from anchorid.participation import api, service
from anchorid.participation.models import VoterParticipation
from support.linked_tokens import LinkedWorld, linked_world, refusals

from .conftest import person

pytestmark = pytest.mark.django_db

CLIENT_ID = "participation"
PATH = "/api/v1/status"
URL = "http://testserver" + PATH


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


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> LinkedWorld:
    made = linked_world(CLIENT_ID)
    monkeypatch.setattr(api, "resource_server", lambda: ResourceServer(made.client, replay_cache="default"))
    return made


def _get(client: Client) -> Any:
    def get(headers: dict[str, str]) -> Any:
        return client.get(PATH, headers=headers)

    return get


def test_it_refuses_every_token_that_is_not_a_valid_exchanged_one_with_its_proof(
    client: Client, world: LinkedWorld
) -> None:
    answers = refusals(world, URL, _get(client))
    for case, response in answers.items():
        assert response.status_code == 401, case
        error = "invalid_dpop_proof" if "proof" in case else "invalid_token"
        assert response.json()["error"] == error, case
        assert response["WWW-Authenticate"].startswith(f'DPoP error="{error}"'), case
        assert "no-store" in response["Cache-Control"], case


def test_it_refuses_a_replayed_proof_before_asking_the_idp(client: Client, world: LinkedWorld) -> None:
    """The first request passes every local check and asks the idp, which cannot be reached here: 503, never
    "active" on doubt. The same proof again is refused at once as replayed."""
    token = world.token()
    headers = world.headers(URL, token)
    first = client.get(PATH, headers=headers)
    assert first.status_code == 503
    assert first.json()["error"] == "temporarily_unavailable"
    again = client.get(PATH, headers=headers)
    assert again.status_code == 401
    assert again.json() == {"error": "invalid_dpop_proof", "error_description": "this DPoP proof was used before"}


def test_it_answers_only_get(client: Client, world: LinkedWorld) -> None:
    token = world.token()
    assert client.post(PATH, headers=world.headers(URL, token, method="POST")).status_code == 405
