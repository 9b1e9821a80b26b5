"""Ballot secrecy in the schema: the ballot table and the voter table have no column, foreign key or timestamp that
joins them — checked on the models and on the database itself (its own introspection) — and the open-data export
carries no personal data."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, models

from anchorid.participation import service
from anchorid.participation.models import Ballot, Comment, Process, VoterParticipation

from .conftest import person

pytestmark = pytest.mark.django_db

TIME_FIELDS = (models.DateTimeField, models.DateField, models.TimeField, models.DurationField)


def test_it_keeps_no_column_foreign_key_or_timestamp_joining_ballots_to_voters(
    make_process: Callable[..., Any],
) -> None:
    ballot_fields = {f.name: f for f in Ballot._meta.get_fields()}
    voter_fields = {f.name: f for f in VoterParticipation._meta.get_fields()}
    assert set(ballot_fields) == {"ballot_id", "process", "replace_tag", "assurance", "choices"}
    assert set(voter_fields) == {"id", "process", "voter_key"}
    for fields in (ballot_fields, voter_fields):
        assert not [name for name, f in fields.items() if isinstance(f, TIME_FIELDS)]  # no time, of any precision
    assert not isinstance(Ballot._meta.pk, models.AutoField)  # no sequence that orders ballots as cast
    assert Ballot._meta.pk.name == "ballot_id"
    # In the database: every foreign key of either table points at the process table only, and no table at all
    # points at either of them.
    tables = connection.introspection.table_names()
    process_table = Process._meta.db_table
    with connection.cursor() as cursor:
        for table in (Ballot._meta.db_table, VoterParticipation._meta.db_table):
            relations = connection.introspection.get_relations(cursor, table)
            assert {target for _, target in relations.values()} == {process_table}, table
            columns = {c.name for c in connection.introspection.get_table_description(cursor, table)}
            assert not any("time" in c or c.endswith("_at") or "date" in c for c in columns), columns
        for other in tables:
            relations = connection.introspection.get_relations(cursor, other)
            targets = {target for _, target in relations.values()}
            assert Ballot._meta.db_table not in targets, other
            assert VoterParticipation._meta.db_table not in targets, other
    # The voter row holds no ballot id in clear, and no ballot holds anything of the voter's.
    process, p = make_process()
    voter = person("secret-voter")
    receipt = service.cast(process.pk, voter, [p[0].pk, p[1].pk])
    row = VoterParticipation.objects.values().get()
    assert receipt not in json.dumps(row, default=str)
    ballot = Ballot.objects.values().get()
    assert not set(map(str, row.values())) & set(map(str, ballot.values())) - {str(process.pk)}  # no shared value
    assert "secret-voter" not in json.dumps(ballot)
    # Only the voter's login finds the ballot (to replace it): the tag is theirs and nobody else's.
    assert ballot["replace_tag"] == voter.replace_tag(process.pk) != person("someone-else").replace_tag(process.pk)
    assert ballot["replace_tag"] != row["voter_key"]


def test_it_exports_open_data_without_personal_data(make_process: Callable[..., Any]) -> None:
    process, _p = make_process("ideas", kind="budget")
    process.phase = "ideas"
    process.save()
    author = person("exported-author", "anonymous")
    made = service.propose(process, author, "公開する案", "本文")
    service.comment(person("commenter"), "コメント", proposal=made)
    service.support(made, person("supporter"))
    exported = json.dumps(service.open_data(process), ensure_ascii=False) + service.open_data_csv(process)
    comment = Comment.objects.get()
    private_values = (
        author.key,
        author.label,
        made.author_key,
        made.author_label,
        comment.author_key,
        comment.author_label,
        "exported-author",
        "commenter",
        "supporter",
        person("supporter").key,
    )
    for private in private_values:
        assert private not in exported
    assert "公開する案" in exported
    assert "コメント" in exported
    assert '"supports": {"resident": 1' in exported
