"""Casting, re-voting, phases, permissions, frozen weights, publication and ``tally verify`` (service level)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from anchorid.cli import main
from anchorid.participation import permissions, service
from anchorid.participation.models import Ballot, Process, VoterParticipation

from .conftest import person

pytestmark = pytest.mark.django_db


def test_it_replaces_the_earlier_ballot_when_a_person_votes_again(make_process: Callable[..., Any]) -> None:
    process, p = make_process()
    voter = person("alice")
    first = service.cast(process.pk, voter, [p[0].pk, p[1].pk])
    second = service.cast(process.pk, voter, [p[1].pk, p[2].pk])
    assert first != second
    assert list(Ballot.objects.values_list("ballot_id", "choices")) == [(second, sorted([p[1].pk, p[2].pk]))]
    assert VoterParticipation.objects.count() == 1
    service.cast(process.pk, person("bob"), [p[0].pk, p[3].pk])
    assert Ballot.objects.count() == 2


def test_it_refuses_votes_outside_the_vote_phase_and_by_non_residents(make_process: Callable[..., Any]) -> None:
    process, p = make_process("ideas")
    with pytest.raises(permissions.NotAllowed):
        service.cast(process.pk, person("alice"), [p[0].pk, p[1].pk])
    process, p = make_process(slug="open")
    with pytest.raises(permissions.NotAllowed, match="verified residents"):
        service.cast(process.pk, person("carol", "anchorid"), [p[0].pk, p[1].pk])
    with pytest.raises(permissions.NotAllowed, match="log in"):
        service.cast(process.pk, person("dave", "anonymous"), [p[0].pk, p[1].pk])
    with pytest.raises(service.Invalid, match="more than the budget"):
        service.cast(process.pk, person("alice"), [x.pk for x in p])
    assert not Ballot.objects.exists()
    assert not VoterParticipation.objects.exists()


def test_it_freezes_the_weights_once_voting_opens(make_process: Callable[..., Any]) -> None:
    process, _ = make_process("ideas")
    service.set_rules(process, "staff", weights={"resident": 1.0, "anchorid": 0.3, "anonymous": 0.1})
    service.set_phase(process, "vote", "staff")
    with pytest.raises(service.Frozen):
        service.set_rules(process, "staff", weights={"resident": 1.0, "anchorid": 1.0, "anonymous": 1.0})
    process.refresh_from_db()
    process.weights = {"resident": 2.0}
    with pytest.raises(ValueError, match="weights"):
        process.save()  # the admin and every other path go through save
    service.set_phase(process, "debate", "staff")  # going back does not unfreeze
    with pytest.raises(service.Frozen):
        service.set_rules(process, "staff", weights={"resident": 1.0, "anchorid": 1.0, "anonymous": 1.0})
    assert Process.objects.get(pk=process.pk).weights == {"resident": 1.0, "anchorid": 0.3, "anonymous": 0.1}


def _published(make_process: Callable[..., Any]) -> Process:
    process, p = make_process(permissions={"vote": {"level": "anonymous", "age": ""}})
    service.cast(process.pk, person("r1"), [p[0].pk, p[1].pk])
    service.cast(process.pk, person("r2"), [p[1].pk, p[2].pk])
    service.cast(process.pk, person("n1", "anchorid"), [p[0].pk, p[3].pk])
    service.cast(process.pk, person("a1", "anonymous"), [p[2].pk, p[3].pk])
    service.set_phase(process, "results", "staff")
    process.refresh_from_db()
    return process


def test_it_publishes_every_ballot_and_a_signed_digest_that_recounts(
    make_process: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    process = _published(make_process)
    document = process.published_document
    assert document is not None
    assert len(document["ballots"]) == 4
    assert {b["ballot"] for b in document["ballots"]} == set(Ballot.objects.values_list("ballot_id", flat=True))
    assert document["result"]["ballots"] == {"resident": 2, "anchorid": 1, "anonymous": 1}
    published = tmp_path / "ballots.json"
    published.write_text(json.dumps(document))
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(service.tally_public_jwks(__import__("django.conf").conf.settings.DATA_DIR)))
    assert main(["participation", "tally", "verify", str(published), "--key", str(keys)]) == 0
    assert "verified" in capsys.readouterr().out


@pytest.mark.parametrize("tamper", ["choice", "result", "drop", "resign"])
def test_it_detects_a_tampered_ballot_file(
    make_process: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str], tamper: str
) -> None:
    document = json.loads(json.dumps(_published(make_process).published_document))
    if tamper == "choice":
        document["ballots"][0]["choices"] = sorted(document["ballots"][1]["choices"])
    elif tamper == "result":
        document["result"]["winners"] = list(reversed(document["result"]["winners"]))
    elif tamper == "drop":
        document["ballots"].pop()
    else:  # re-sign a changed document with another key: the platform's published key does not match
        from joserfc.jwk import ECKey

        from anchorid.participation import tally

        document["ballots"].pop()
        document["ballots_digest"] = tally.digest(document["ballots"])
        document = tally.sign({k: v for k, v in document.items() if k != "signature"},
                              ECKey.generate_key("P-256", private=True))  # fmt: skip
    path = tmp_path / "ballots.json"
    path.write_text(json.dumps(document))
    keys = tmp_path / "keys.json"
    from django.conf import settings

    keys.write_text(json.dumps(service.tally_public_jwks(settings.DATA_DIR)))
    assert main(["participation", "tally", "verify", str(path), "--key", str(keys)]) == 1
    assert "NOT VERIFIED" in capsys.readouterr().out


def test_it_applies_the_age_condition_and_the_anonymous_marking(make_process: Callable[..., Any]) -> None:
    process, p = make_process(permissions={"vote": {"level": "anchorid", "age": "18"}})
    minor = person("minor", "anchorid")  # no age_over_18 released
    with pytest.raises(permissions.NotAllowed, match="18"):
        service.cast(process.pk, minor, [p[0].pk, p[1].pk])
    adult = person("adult")
    service.cast(process.pk, adult, [p[0].pk, p[1].pk])
    assert Ballot.objects.get().assurance == "resident"
    assert "18" in permissions.describe(process, "vote")
    anonymous = person("visitor", "anonymous")
    assert anonymous.assurance(process.municipality_code) == "anonymous"
    assert anonymous.label.startswith("t-")  # labels are pseudonyms, never names
