"""The personalized home's city side without the other parties (the whole journey is tests/interop/test_linked_home.py):
the services' answers read strictly, the configuration command, the way back from the idp's link consent screen, and
the home when the idp cannot be reached or the session has no token — a sentence, never an error page."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from anchorid.city import linked_services, login, resident_home, resident_tokens
from anchorid.common.rp.client import AnchorIDClient
from anchorid.common.settings_base import DATA_DIR

from .test_home import logged_in_client

pytestmark = pytest.mark.django_db

LIBRARY = "http://library.test"
DUE = "2026-12-20T10:00:00+09:00"


@pytest.fixture
def configured(settings: Any) -> Any:
    """Three services configured in the city's data folder (removed afterwards)."""
    path = DATA_DIR / linked_services.LINKED_SERVICES_FILE
    assert not path.exists()
    for kind, port in (("library", 1), ("currency", 2), ("participation", 3)):
        linked_services.save(DATA_DIR, linked_services.LinkedService(kind, kind, f"http://127.0.0.1:{port}",
                                                                     f"city-to-{kind}"))  # fmt: skip
    yield linked_services.load(DATA_DIR)
    path.unlink()


def test_it_reads_a_library_answer_and_keeps_links_inside_the_library() -> None:
    body = {"registered": True, "holds_waiting": 1,
            "loans": [{"title": "海辺の図書室", "due_at": DUE, "url": f"{LIBRARY}/loans/3/read/"}],
            "holds_ready": [{"title": "山の本", "ready_until": DUE, "url": "javascript:alert(1)"}]}  # fmt: skip
    data = resident_home.READERS["library"](body, LIBRARY)
    assert data["loans"] == [{"title": "海辺の図書室", "due_at": datetime.datetime.fromisoformat(DUE),
                              "url": f"{LIBRARY}/loans/3/read/"}]  # fmt: skip
    assert data["holds_ready"][0]["url"] == f"{LIBRARY}/"  # a link elsewhere becomes the service's front page
    assert data["holds_waiting"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"loans": "none", "holds_ready": []},
        {"loans": [{"title": "", "due_at": DUE}], "holds_ready": []},
        {"loans": [{"title": "本", "due_at": "2026-12-20T10:00:00"}], "holds_ready": []},  # no time zone
        {"loans": [{"title": "本", "due_at": "tomorrow"}], "holds_ready": []},
        {"holds_ready": []},
    ],
)
def test_it_refuses_a_library_answer_it_cannot_show(body: dict[str, Any]) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        resident_home.READERS["library"](body, LIBRARY)


@pytest.mark.parametrize("balance", ["1000", 10.5, True, None])
def test_it_refuses_a_balance_that_is_not_a_whole_number(balance: object) -> None:
    with pytest.raises((ValueError, KeyError)):
        resident_home.READERS["currency"]({"balance": balance}, "http://coin.test")


def test_it_reads_benefits_and_votes() -> None:
    wallet = resident_home.READERS["currency"](
        {
            "balance": 1200,
            "expiring_soon": [{"amount": 200, "expires_at": DUE, "kind": "premium"}],
            "unclaimed_benefits": [
                {"id": 1, "name": "子育て応援", "amount": 5000, "closes_at": DUE, "claim_url": "http://coin.test/"}
            ],
        },
        "http://coin.test",
    )
    assert wallet["balance"] == 1200
    assert wallet["benefits"][0]["url"] == "http://coin.test/"
    votes = resident_home.READERS["participation"](
        {
            "open_votes": [
                {
                    "title": "予算2027",
                    "url": "http://vote.test/processes/budget-2027/",
                    "who_may_vote": "resident",
                    "adults_only": False,
                }
            ]
        },
        "http://vote.test",
    )
    assert votes["votes"] == [{"title": "予算2027", "url": "http://vote.test/processes/budget-2027/",
                               "residents_only": True, "adults_only": False}]  # fmt: skip


def test_it_asks_a_resident_without_tokens_to_log_in_again(client: Client, rp: AnchorIDClient, configured: Any) -> None:
    """A session from before the city kept its tokens: no exchange is possible; each panel says so, nothing fails."""
    response = logged_in_client(client, {"sub": "pairwise-1", "name": "鎌倉 花子"}).get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('data-state="log_in_again"') == 3
    assert "もう一度ログインすると" in body


def test_it_says_a_service_cannot_be_reached_when_the_idp_does_not_answer(
    client: Client, rp: AnchorIDClient, configured: Any
) -> None:
    """The idp of this test (http://idp.test) does not exist: the exchange cannot happen, so the panels say the
    service could not be reached — no error page, nothing linked assumed."""
    logged_in_client(client, {"sub": "pairwise-1"})
    session = client.session
    resident_tokens.keep(session, {"access_token": "at", "refresh_token": "rt", "expires_in": 300})
    session.save()
    response = client.get("/", headers={"Accept-Language": "en"})
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('data-state="unavailable"') == 3
    assert "could not be reached just now" in body


def test_it_links_to_the_idps_consent_screen_for_an_unlinked_service() -> None:
    service = linked_services.LinkedService("library", "library", LIBRARY, "city-to-library")
    url = resident_home.consent_url("http://idp.test/", service, "http://city.test/callback/")
    assert url == ("http://idp.test/links/consent/?offer=city-to-library"
                   "&return_to=http%3A%2F%2Fcity.test%2Fcallback%2F")  # fmt: skip


@pytest.mark.parametrize(("answer", "message"), [("approved", "連携しました"), ("denied", "連携しませんでした")])
def test_it_tells_the_resident_what_they_decided_on_the_link_screen(client: Client, answer: str, message: str) -> None:
    session = client.session
    session[login.PENDING_KEY] = {"state": "s", "nonce": "n", "code_verifier": "v"}
    session.save()
    response = client.get(f"/callback/?link={answer}&offer=city-to-library", follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert message in response.content.decode()
    assert login.PENDING_KEY in client.session  # a login started in this browser is not spent by the link's return


def test_it_configures_a_linked_service_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from anchorid.cli import main

    assert main(["city", "link-service", "--data", str(tmp_path), "--kind", "library", "--origin", LIBRARY + "/"]) == 0
    assert json.loads((tmp_path / "linked-services.json").read_text()) == {
        "library": {"audience": "library", "origin": LIBRARY, "offer": "city-to-library"}
    }
    assert main(["city", "link-service", "--data", str(tmp_path), "--kind", "currency", "--origin", "ftp://x"]) == 2
    assert [s.kind for s in linked_services.load(tmp_path)] == ["library"]


def test_it_refreshes_an_expired_access_token_first_and_asks_to_log_in_again_when_it_cannot(
    client: Client, rp: AnchorIDClient, configured: Any
) -> None:
    """The city's access token expired: it is refreshed before any exchange; the idp here cannot be reached, so no
    exchange is tried with the stale token — the resident is asked to log in again — and the refresh token is kept
    for the next view (an unreachable idp is not a refusal)."""
    logged_in_client(client, {"sub": "pairwise-1"})
    session = client.session
    resident_tokens.keep(session, {"access_token": "old", "refresh_token": "rt", "expires_at": 1_000})
    session.save()
    body = client.get("/").content.decode()
    assert body.count('data-state="log_in_again"') == 3
    assert client.session[resident_tokens.TOKENS_KEY]["refresh_token"] == "rt"
