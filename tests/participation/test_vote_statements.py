"""The vote button's cost in statements, pinned: the session's read, then one statement on PostgreSQL (or the two
inserts in one transaction on SQLite) — the process comes from the worker's snapshot, the session is not written,
nothing else is read. The framework's ceiling in the benchmark is BEGIN, one INSERT, COMMIT."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from anchorid.participation import service
from anchorid.participation.identity import LOGIN_KEY
from anchorid.participation.models import Ballot, VoterParticipation

pytestmark = pytest.mark.django_db(transaction=True)


def _resident_client(sub: str) -> Client:
    session = SessionStore()
    session[LOGIN_KEY] = {"sub": sub, "claims": {"resident_of": "142042"}, "id_token": "x"}
    session.create()
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["participation_sessionid"] = str(session.session_key)
    return client


def _statements(client: Client, url: str, choices: list[int]) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.post(url, {"option": choices})
    assert response.status_code == 302, response.content[:300]
    assert response["Location"].endswith("/receipt/")
    return [query["sql"] for query in captured.captured_queries]


def test_it_records_a_vote_in_one_statement_after_the_session_read(make_process: Callable[..., Any]) -> None:
    process, p = make_process()
    url = f"/processes/{process.slug}/vote/"
    service._VOTE_SNAPSHOTS.clear()
    _statements(_resident_client("warm-up"), url, [p[0].pk, p[1].pk])  # the worker's snapshot is read once
    client = _resident_client("counted")
    for choices in ([p[0].pk, p[1].pk], [p[1].pk, p[2].pk]):  # a first vote and a re-vote cost the same
        statements = _statements(client, url, choices)
        assert "django_session" in statements[0]
        assert statements[0].startswith("SELECT")
        recorded = statements[1:]
        if connection.vendor == "postgresql":
            assert len(recorded) == 1, recorded
            assert recorded[0].startswith("WITH open AS")
        else:
            assert [s.split()[0] for s in recorded] == ["BEGIN", "INSERT", "INSERT", "COMMIT"], recorded
        assert not any('UPDATE "django_session"' in s or 'participation_process" SET' in s for s in statements)
    assert VoterParticipation.objects.filter(process=process).count() == 2
    assert list(Ballot.objects.filter(process=process, replace_tag__isnull=False).values_list("choices", flat=True)) \
        .count(sorted([p[1].pk, p[2].pk])) == 1  # fmt: skip
    assert Ballot.objects.filter(process=process).count() == 2


def test_it_refuses_a_vote_after_the_close_even_from_a_stale_snapshot(make_process: Callable[..., Any]) -> None:
    process, p = make_process()
    url = f"/processes/{process.slug}/vote/"
    service._VOTE_SNAPSHOTS.clear()
    client = _resident_client("late")
    _statements(client, url, [p[0].pk, p[1].pk])  # snapshot taken while the vote is open
    service.set_phase(process, "results", "staff")  # the close publishes the one ballot
    response = client.post(url, {"option": [p[1].pk, p[2].pk]})
    assert response.status_code == 403
    assert "not open in the current phase" in response.content.decode()
    assert Ballot.objects.filter(process=process).count() == 1
    stored = Ballot.objects.get(process=process)
    assert stored.choices == sorted([p[0].pk, p[1].pk])  # the late re-vote replaced nothing


def test_it_reads_a_session_as_django_does_and_ignores_an_expired_or_unknown_one() -> None:
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from anchorid.participation.session_store import SessionStore as LeanStore

    made = SessionStore()
    made[LOGIN_KEY] = {"sub": "s", "claims": {}}
    made.create()
    key = str(made.session_key)
    assert LeanStore(key).load() == SessionStore(key).load() == {LOGIN_KEY: {"sub": "s", "claims": {}}}
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = LeanStore(key)
    assert expired.load() == {}
    assert expired.session_key is None  # a new key is made on the next save, never the expired one
    assert LeanStore("x" * 32).load() == {}
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(days=1),
                                                   session_data="not-a-session")  # fmt: skip
    assert LeanStore(key).load() == {}  # undecodable: empty, as Django's decode answers
