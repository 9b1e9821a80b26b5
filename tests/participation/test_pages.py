"""The pages with Django's test client: anonymous ideas and comments marked anonymous, supports, the PB vote and its
refusals, results split by assurance, staff actions with an audit trail — and bad input: script-laden and oversized
text (rendered escaped / refused), votes outside the phase, forged ids, posts without CSRF → a clear 4xx, nothing
stored, never a 5xx."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from anchorid.participation.identity import LOGIN_KEY
from anchorid.participation.models import Ballot, Comment, ModerationAction, Notification, Process, Proposal

from .conftest import CITY

pytestmark = pytest.mark.django_db
SCRIPT = '<script>alert("x")</script>'


def logged_in(sub: str, *, resident: bool = True) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    session = client.session
    session[LOGIN_KEY] = {"sub": sub, "claims": {"resident_of": CITY if resident else "131016"}, "id_token": "x"}
    session.save()
    return client


def ideas_process() -> Process:
    return Process.objects.create(slug="ideas", title="Ideas", vote_kind="budget", budget_total=1000)


def test_it_takes_anonymous_ideas_and_comments_marked_anonymous_and_escapes_them() -> None:
    process = ideas_process()
    visitor = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = visitor.post("/processes/ideas/propose/", {"title": f"Benches {SCRIPT}", "body": f"More {SCRIPT}"})
    assert response.status_code == 302
    proposal = Proposal.objects.get()
    assert proposal.author_assurance == "anonymous"
    assert visitor.post(f"/proposals/{proposal.pk}/comment/", {"body": SCRIPT}).status_code == 302
    page = visitor.get(f"/proposals/{proposal.pk}/").content.decode()
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert 'id="anonymous-marker"' in page
    assert "assurance--anonymous" in page
    assert visitor.get("/processes/ideas/").status_code == 200
    # a supporter logged in with AnchorID; the anonymous author is told of a new comment
    resident = logged_in("resident-1")
    assert resident.post(f"/proposals/{proposal.pk}/support/").status_code == 302
    assert resident.post(f"/proposals/{proposal.pk}/comment/", {"body": "Yes!"}).status_code == 302
    assert Notification.objects.filter(participant_key=proposal.author_key).exists()
    assert "notifications-link" in visitor.get("/").content.decode()
    assert "Benches" in visitor.get("/search/?q=Benches").content.decode()
    assert process.proposals.get().supports.get().assurance == "resident"


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/processes/ideas/propose/", {"title": "x" * 151, "body": "b"}),
        ("/processes/ideas/propose/", {"title": "", "body": "b"}),
        ("/processes/ideas/propose/", {"title": "t", "body": "b" * 4001}),
        ("/processes/ideas/propose/", {"title": "t\x00", "body": "b"}),
        ("/proposals/PK/comment/", {"body": "c" * 2001}),
        ("/proposals/PK/comment/", {"body": "reply", "parent": "99999"}),
        ("/proposals/PK/comment/", {"body": "reply", "parent": "1 OR 1=1"}),
    ],
)
def test_it_refuses_oversized_empty_or_forged_input_and_stores_nothing(path: str, data: dict[str, str]) -> None:
    process = ideas_process()
    target = Proposal.objects.create(process=process, title="t", body="b", author_key="k", author_assurance="anonymous",
                                     author_label="anon-1")  # fmt: skip
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(path.replace("PK", str(target.pk)), data)
    assert response.status_code == 400
    assert 'id="refusal"' in response.content.decode()
    assert Proposal.objects.count() == 1
    assert not Comment.objects.exists()


def test_it_refuses_posts_without_csrf_and_stores_nothing() -> None:
    ideas_process()
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/processes/ideas/propose/", {"title": "t", "body": "b"}).status_code == 403
    assert not Proposal.objects.exists()


def test_it_votes_in_the_pb_phase_refuses_an_over_budget_basket_and_replaces_on_re_vote(
    make_process: Callable[..., Any],
) -> None:
    _process, p = make_process(permissions={"vote": {"level": "resident", "age": ""}})
    resident = logged_in("voter")
    assert "cast-vote" in resident.get("/processes/pb/vote/").content.decode()
    over = resident.post("/processes/pb/vote/", {"option": [x.pk for x in p]})
    assert over.status_code == 400
    assert "more than the budget" in over.content.decode()
    assert not Ballot.objects.exists()
    first = resident.post("/processes/pb/vote/", {"option": [p[0].pk, p[1].pk]})
    assert (first.status_code, first["Location"]) == (302, "/processes/pb/receipt/")
    receipt = resident.get("/processes/pb/receipt/").content.decode()
    assert f'<code id="receipt">{Ballot.objects.get().ballot_id}</code>' in receipt
    assert resident.get("/processes/pb/receipt/").status_code == 302  # shown once
    assert "already-voted" in resident.get("/processes/pb/vote/").content.decode()
    assert resident.post("/processes/pb/vote/", {"option": [p[1].pk, p[2].pk]}).status_code == 302
    assert list(Ballot.objects.values_list("choices", flat=True)) == [sorted([p[1].pk, p[2].pk])]
    # a non-resident AnchorID user is refused with a clear message; an anonymous visitor is asked to log in
    refused = logged_in("visitor", resident=False).post("/processes/pb/vote/", {"option": [p[0].pk, p[1].pk]})
    assert refused.status_code == 403
    assert "Only verified residents" in refused.content.decode()
    assert Client().get("/processes/pb/vote/").status_code == 302  # to the process page, with its login button
    assert Client().post("/processes/pb/vote/", {"option": [p[0].pk, p[1].pk]}).status_code == 403
    assert Ballot.objects.count() == 1


@pytest.mark.parametrize("options", [["999999"], ["abc"], ["1e3"], []])
def test_it_refuses_forged_option_ids(make_process: Callable[..., Any], options: list[str]) -> None:
    make_process()
    _other, foreign = make_process(slug="other")
    forged = options or []
    response = logged_in("voter").post("/processes/pb/vote/", {"option": forged})
    assert response.status_code == 400
    response = logged_in("voter").post("/processes/pb/vote/", {"option": [foreign[0].pk, foreign[1].pk]})
    assert response.status_code == 400  # options of another process
    assert not Ballot.objects.exists()


def test_it_refuses_a_vote_outside_the_vote_phase(make_process: Callable[..., Any]) -> None:
    _, p = make_process("ideas")
    response = logged_in("voter").post("/processes/pb/vote/", {"option": [p[0].pk, p[1].pk]})
    assert response.status_code == 403
    assert "not open in the current phase" in response.content.decode()
    _, q = make_process("results", slug="closed")
    assert logged_in("voter").post("/processes/closed/vote/", {"option": [q[0].pk, q[1].pk]}).status_code == 403
    assert not Ballot.objects.exists()
    assert Client().get("/processes/nope/").status_code == 404
    assert Client().get("/processes/pb/open-data.xml").status_code == 404
    assert Client().get("/processes/pb/ballots.json").status_code == 404  # not published before close


def test_it_shows_results_split_by_assurance_with_the_weighted_result(make_process: Callable[..., Any]) -> None:
    _process, p = make_process(permissions={"vote": {"level": "anonymous", "age": ""}})
    logged_in("r1").post("/processes/pb/vote/", {"option": [p[0].pk, p[1].pk]})
    logged_in("n1", resident=False).post("/processes/pb/vote/", {"option": [p[2].pk, p[3].pk]})
    anonymous = Client()
    anonymous.post("/processes/pb/vote/", {"option": [p[2].pk, p[3].pk]})
    assert anonymous.get("/processes/pb/results/").status_code == 404  # not before close
    staff = Client()
    staff.force_login(User.objects.create_user("mod", is_staff=True, is_superuser=True))
    assert staff.post("/staff/pb/act/", {"action": "phase", "phase": "results"}).status_code == 302
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get("/processes/pb/results/").content.decode()
    assert "3 ballots: verified residents 1, AnchorID without residency 1, anonymous 1" in page
    assert '<td class="weighted">1.0</td>' in page
    assert '<td class="weighted">0.5</td>' in page
    assert Client().get("/processes/pb/ballots.json").json()["ballots_digest"]


def test_it_lets_staff_set_up_moderate_and_decide_with_an_audit_trail(make_process: Callable[..., Any]) -> None:
    process, p = make_process("ideas")
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(User.objects.create_user("mod", is_staff=True))
    assert staff.get("/staff/").status_code == 200
    assert staff.post("/staff/pb/act/", {"action": "weights", "resident": "1", "anchorid": "0.2",
                                         "anonymous": "0"}).status_code == 302  # fmt: skip
    hide = {"action": "hide-proposal", "proposal": p[0].pk, "reason": "spam"}
    assert staff.post("/staff/pb/act/", hide).status_code == 302
    assert staff.post("/staff/pb/act/", {"action": "phase", "phase": "vote"}).status_code == 302
    frozen = staff.post("/staff/pb/act/", {"action": "weights", "resident": "5", "anchorid": "5", "anonymous": "5"})
    assert frozen.status_code == 400
    decision = {"action": "decision", "decision": "stop", "reason": "Budget cut"}
    assert staff.post("/staff/pb/act/", decision).status_code == 302
    assert staff.post("/staff/pb/act/", {"action": "nonsense"}).status_code == 400
    assert staff.post("/staff/pb/act/", {"action": "hide-proposal", "proposal": "x"}).status_code == 400
    assert Client().post("/staff/pb/act/", {"action": "phase", "phase": "ideas"}).status_code == 302  # to the login
    process.refresh_from_db()
    assert process.weights == {"resident": 1.0, "anchorid": 0.2, "anonymous": 0.0}
    assert process.phase == "vote"
    assert process.decision == "stop"
    assert list(ModerationAction.objects.values_list("action", flat=True)) == ["rules", "hide", "phase", "decision"]
    assert "Budget cut" in staff.get("/staff/pb/").content.decode()
    assert Proposal.objects.get(pk=p[0].pk).hidden_reason == "spam"
