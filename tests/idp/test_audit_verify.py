"""``verify_log`` finds a modified, deleted or reordered entry — even with raw SQL — and names the first bad one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection

from anchorid.idp.audit.checkpoints import LogBroken, make_checkpoint, trusted_keys
from anchorid.idp.audit.models import AuditEntry, Checkpoint
from anchorid.idp.audit.verify import VerificationReport, verify_log
from anchorid.idp.keystore import keystore_from_settings

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("platform_keys")]


def verify() -> VerificationReport:
    return verify_log(trusted_keys(keystore_from_settings()))


def sql(statement: str, *params: str | int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture
def log(log_entries: Callable[[int], list[AuditEntry]]) -> list[AuditEntry]:
    """Eight entries, the first seven under a signed checkpoint (seq 0 records the platform key's creation)."""
    log_entries(6)
    make_checkpoint()
    return list(AuditEntry.objects.all()) + log_entries(1)


def test_it_passes_an_untouched_log(log: list[AuditEntry]) -> None:
    report = verify()
    assert report.ok, report.problem
    assert (report.entries, report.checkpoints_checked, report.last_checkpoint_size) == (8, 1, 7)


def test_it_passes_an_empty_log(platform_keys: Path) -> None:
    assert verify_log({}).ok


def test_it_names_an_entry_edited_with_raw_sql(log: list[AuditEntry]) -> None:
    sql("UPDATE audit_auditentry SET subject = %s WHERE seq = %s", "acct_someone_else", 3)
    problem = verify().problem
    assert problem is not None
    assert problem.seq == 3
    assert "does not match its entry_hash" in problem.message


def test_it_names_a_deleted_entry(log: list[AuditEntry]) -> None:
    sql("DELETE FROM audit_auditentry WHERE seq = %s", 4)
    problem = verify().problem
    assert problem is not None
    assert problem.seq == 4
    assert "entry missing" in problem.message


def test_it_names_the_first_of_two_swapped_entries(log: list[AuditEntry]) -> None:
    sql("UPDATE audit_auditentry SET seq = 1000 WHERE seq = 2")
    sql("UPDATE audit_auditentry SET seq = 2 WHERE seq = 5")
    sql("UPDATE audit_auditentry SET seq = 5 WHERE seq = 1000")
    problem = verify().problem
    assert problem is not None
    assert problem.seq == 2


def test_it_names_the_earliest_problem_when_there_are_several(log: list[AuditEntry]) -> None:
    sql("UPDATE audit_auditentry SET actor = %s WHERE seq = %s", "staff:mallory", 6)
    sql("UPDATE audit_auditentry SET actor = %s WHERE seq = %s", "staff:mallory", 1)
    problem = verify().problem
    assert problem is not None
    assert problem.seq == 1


def test_it_catches_a_rewritten_chain_with_the_checkpoint(log: list[AuditEntry]) -> None:
    """An attacker who edits seq 3 and recomputes every hash after it still cannot match the signed root."""
    from anchorid.idp.audit.entry import ZERO_HASH_HEX, EntryContent

    sql("UPDATE audit_auditentry SET subject = %s WHERE seq = %s", "acct_someone_else", 3)
    prev = ZERO_HASH_HEX
    for entry in AuditEntry.objects.order_by("seq"):
        content = EntryContent.of(entry)
        rehashed = EntryContent(**{**content.__dict__, "prev_hash": prev}).entry_hash()
        sql("UPDATE audit_auditentry SET prev_hash = %s, entry_hash = %s WHERE seq = %s", prev, rehashed, entry.seq)
        prev = rehashed
    sql("UPDATE audit_audithead SET head_hash = %s", prev)
    problem = verify().problem
    assert problem is not None
    assert problem.checkpoint_size == 7
    assert "seq 0..6 was rewritten" in problem.message


def test_it_notices_entries_cut_off_the_end(log: list[AuditEntry]) -> None:
    sql("DELETE FROM audit_auditentry WHERE seq = %s", 7)
    problem = verify().problem
    assert problem is not None
    assert problem.seq == 7
    assert "head records 8 entries" in problem.message


def test_it_notices_entries_cut_off_under_a_checkpoint(log: list[AuditEntry]) -> None:
    sql("DELETE FROM audit_auditentry WHERE seq >= %s", 5)
    sql("UPDATE audit_audithead SET size = 5, head_hash = %s", log[4].entry_hash)
    problem = verify().problem
    assert problem is not None
    assert problem.seq == 5
    assert "a signed checkpoint covers 7 entries" in problem.message


def test_it_refuses_a_checkpoint_whose_root_was_replaced(log: list[AuditEntry]) -> None:
    sql("UPDATE audit_checkpoint SET root_hash = %s", "ab" * 32)
    problem = verify().problem
    assert problem is not None
    assert problem.checkpoint_size == 7
    assert "signature does not verify" in problem.message


def test_it_refuses_a_checkpoint_signed_by_another_key(log: list[AuditEntry]) -> None:
    assert verify_log({}).problem is not None


def test_it_will_not_sign_a_checkpoint_over_a_broken_log(log: list[AuditEntry]) -> None:
    sql("UPDATE audit_auditentry SET subject = %s WHERE seq = %s", "acct_x", 1)
    with pytest.raises(LogBroken, match="seq 1"):
        make_checkpoint()
    assert Checkpoint.objects.count() == 1


def test_it_returns_the_existing_checkpoint_when_nothing_was_appended(platform_keys: Path) -> None:
    first = make_checkpoint()
    assert make_checkpoint().pk == first.pk
