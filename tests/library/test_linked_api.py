"""``GET /api/v1/status`` for linked services (issue 17): the patron's loans on now with their due dates and the holds
ready to borrow, by the library's pairwise ``sub``; and the refusals of anything but a valid exchanged token for the
library (the whole exchange against a live idp is tests/interop/test_linked_home.py)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from anchorid.common.rp.resource_server import ResourceServer
from anchorid.library import api, circulation
from anchorid.library.models import Hold, Loan
from support.linked_tokens import LinkedWorld, linked_world, refusals

from .conftest import make_patron, make_title, one_copy

pytestmark = pytest.mark.django_db

CLIENT_ID = "library"
PATH = "/api/v1/status"
URL = "http://testserver" + PATH


def test_it_answers_the_loans_due_and_the_holds_ready_of_the_patron_only(settings: Any) -> None:
    settings.ANCHORID_LIBRARY_ORIGIN = "http://library.test"
    reader, other = make_patron(), make_patron()
    borrowed, ready, waiting = (
        make_title("海辺の図書室"),
        make_title("山の本", "やまのほん"),
        make_title("川の本", "かわ"),
    )
    for title in (borrowed, ready, waiting):
        one_copy(title)
    loan = circulation.borrow(reader, borrowed.pk)
    until = timezone.now() + datetime.timedelta(days=3)
    Hold.objects.create(patron=reader, title=ready, status=Hold.Status.READY, ready_until=until)
    Hold.objects.create(patron=reader, title=waiting)
    circulation.borrow(other, waiting.pk)

    answer = api.status(reader.sub)
    assert answer == {
        "registered": True,
        "loans": [{"title": "海辺の図書室", "due_at": loan.due_at.isoformat(),
                   "url": f"http://library.test/loans/{loan.pk}/read/"}],
        "holds_ready": [{"title": "山の本", "ready_until": until.isoformat(),
                         "url": f"http://library.test/titles/{ready.pk}/"}],
        "holds_waiting": 1,
    }  # fmt: skip
    assert reader.sub not in str(answer)
    assert reader.card_number not in str(answer)
    assert [item["title"] for item in api.status(other.sub)["loans"]] == ["川の本"]


def test_it_answers_nothing_for_someone_who_is_not_a_patron() -> None:
    assert api.status("not-a-patron") == {"registered": False, "loans": [], "holds_ready": [], "holds_waiting": 0}
    assert not Loan.objects.exists()


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
