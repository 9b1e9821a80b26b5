"""Proposal editing by its author (until someone supports it, as Decidim), merging by moderators (supports carried
over, a person counted once, an audit-trail row, authors and followers told), and youth processes (15+)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from anchorid.participation import permissions, service
from anchorid.participation.identity import Participant
from anchorid.participation.models import ModerationAction, Notification, Process, Proposal, Support

from .conftest import person

pytestmark = pytest.mark.django_db
SCRIPT = '<script>alert("x")</script>'


def _process(**fields: object) -> Process:
    return Process.objects.create(slug="ideas", title="Ideas", **fields)


def _anonymous_author(client: Client) -> None:
    client.post("/processes/ideas/propose/", {"title": "Benches", "body": "More benches"})


def test_it_lets_the_author_edit_until_someone_supports_it() -> None:
    _process()
    author = Client(HTTP_ACCEPT_LANGUAGE="en")
    _anonymous_author(author)
    proposal = Proposal.objects.get()
    assert 'id="edit"' in author.get(f"/proposals/{proposal.pk}/").content.decode()
    edited = author.post(
        f"/proposals/{proposal.pk}/edit/", {"title": f"Shaded benches {SCRIPT}", "body": "Under trees"}
    )
    assert edited.status_code == 302
    proposal.refresh_from_db()
    assert (proposal.title, proposal.body) == (f"Shaded benches {SCRIPT}", "Under trees")
    assert SCRIPT not in author.get(f"/proposals/{proposal.pk}/").content.decode()
    # someone else may not; nor the author with oversized text; nor after a support
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    _anonymous_author(other)
    assert other.post(f"/proposals/{proposal.pk}/edit/", {"title": "Mine", "body": "x"}).status_code == 400
    assert author.post(f"/proposals/{proposal.pk}/edit/", {"title": "t" * 151, "body": "x"}).status_code == 400
    assert Client().post(f"/proposals/{proposal.pk}/edit/", {"title": "t", "body": "x"}).status_code == 403
    service.support(proposal, person("supporter"))
    late = author.post(f"/proposals/{proposal.pk}/edit/", {"title": "Changed after support", "body": "x"})
    assert late.status_code == 400
    assert "has supports" in late.content.decode()
    assert 'id="edit"' not in author.get(f"/proposals/{proposal.pk}/").content.decode()
    proposal.refresh_from_db()
    assert proposal.title == f"Shaded benches {SCRIPT}"
    assert Client(enforce_csrf_checks=True).post(f"/proposals/{proposal.pk}/edit/", {"title": "t", "body": "b"}) \
        .status_code == 403  # fmt: skip


def test_it_merges_carrying_supports_over_without_counting_a_person_twice() -> None:
    process = _process()
    a = service.propose(process, person("author-a"), "Benches", "More benches")
    b = service.propose(process, person("author-b"), "Seats", "Seats by the pond")
    for name in ("both", "only-a"):
        service.support(a, person(name))
    service.support(b, person("both"))
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(User.objects.create_user("mod", is_staff=True))
    assert f'id="merge-{a.pk}"' in staff.get("/staff/ideas/").content.decode()
    assert staff.post("/staff/ideas/act/", {"action": "merge", "proposal": a.pk, "into": a.pk}).status_code == 400
    assert staff.post("/staff/ideas/act/", {"action": "merge", "proposal": a.pk, "into": "99999"}).status_code == 404
    assert staff.post("/staff/ideas/act/", {"action": "merge", "proposal": a.pk, "into": b.pk}).status_code == 302
    a.refresh_from_db()
    assert (a.status, a.merged_into_id) == ("merged", b.pk)
    assert Support.objects.filter(proposal=b).count() == 2  # "both" once, "only-a" carried over
    action = ModerationAction.objects.get(action="merge")
    assert (action.target, action.reason) == (f"proposal {a.pk} -> {b.pk}", "1 supports carried over")
    told = set(Notification.objects.values_list("participant_key", flat=True))
    assert {person("author-a").key, person("author-b").key} <= told
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/proposals/{a.pk}/").content.decode()
    assert 'id="merged-into"' in page
    assert staff.post("/staff/ideas/act/", {"action": "merge", "proposal": a.pk, "into": b.pk}).status_code == 400


def test_it_opens_a_youth_process_to_people_aged_15_and_over() -> None:
    process = _process(permissions={"propose": {"level": "anchorid", "age": "15"}})

    def aged(claims: dict[str, object]) -> Participant:
        return Participant(subject="sub:teen", logged_in=True, claims=claims, label="t")

    permissions.check(process, "propose", aged({"age_over_15": True, "age_over_18": False}))
    permissions.check(process, "propose", aged({"age_over_18": True}))  # over 18 is over 15
    for claims in ({"age_over_15": False}, {}, {"age_over_15": "true"}):
        with pytest.raises(permissions.NotAllowed, match="aged 15 or over"):
            permissions.check(process, "propose", aged(claims))
    anonymous = Participant(subject="anon:x", logged_in=False, claims={}, label="a")
    with pytest.raises(permissions.NotAllowed, match="log in"):
        permissions.check(process, "propose", anonymous)
    assert "aged 15 or over" in permissions.describe(process, "propose")


def test_it_draws_a_proposals_place_on_the_citys_schematic_and_refuses_bad_places() -> None:
    _process()
    visitor = Client(HTTP_ACCEPT_LANGUAGE="en")
    placed = {"title": "Benches", "body": "By the station", "latitude": "35.3190", "longitude": "139.5504"}
    assert visitor.post("/processes/ideas/propose/", placed).status_code == 302
    proposal = Proposal.objects.get()
    page = visitor.get(f"/proposals/{proposal.pk}/").content.decode()
    assert 'id="proposal-map"' in page
    assert "latitude 35.3190, longitude 139.5504" in page
    assert '<circle cx="193.3" cy="147.2" r="7"' in page  # the point, projected onto the 320 × 240 drawing
    for bad in (("35.3190", ""), ("abc", "139.55"), ("NaN", "139.55"), ("Infinity", "139.55"), ("35.68", "139.76"),
                ("1e999999999", "139.55")):  # fmt: skip
        data = {**placed, "latitude": bad[0], "longitude": bad[1]}
        assert visitor.post("/processes/ideas/propose/", data).status_code == 400, bad
    assert Proposal.objects.count() == 1
    unplaced = {"title": "Trees", "body": "More trees"}
    assert visitor.post("/processes/ideas/propose/", unplaced).status_code == 302
    assert 'id="proposal-map"' not in visitor.get(f"/proposals/{Proposal.objects.last().pk}/").content.decode()  # type: ignore[union-attr]
