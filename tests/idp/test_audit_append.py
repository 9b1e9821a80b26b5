"""Appending to the audit log: linked, gapless under concurrency, atomic with the caller, and no personal data."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from anchorid.idp.audit.chain import append
from anchorid.idp.audit.entry import ZERO_HASH_HEX, EntryContent
from anchorid.idp.audit.events import ForbiddenDetail
from anchorid.idp.audit.models import AuditEntry, AuditHead
from anchorid.idp.audit.verify import verify_log

pytestmark = pytest.mark.django_db


def test_it_links_each_entry_to_the_previous_one(log_entries: Callable[[int], list[AuditEntry]]) -> None:
    first, second, third = log_entries(3)
    assert [e.seq for e in (first, second, third)] == [0, 1, 2]
    assert first.prev_hash == ZERO_HASH_HEX
    assert second.prev_hash == first.entry_hash
    assert third.prev_hash == second.entry_hash


def test_it_hashes_exactly_what_it_stored(log_entries: Callable[[int], list[AuditEntry]]) -> None:
    (entry,) = log_entries(1)
    stored = AuditEntry.objects.get(seq=entry.seq)
    assert EntryContent.of(stored).entry_hash() == stored.entry_hash


def test_it_keeps_the_head_in_step(log_entries: Callable[[int], list[AuditEntry]]) -> None:
    entries = log_entries(4)
    head = AuditHead.objects.get()
    assert (head.size, head.head_hash) == (4, entries[-1].entry_hash)


def test_it_refuses_a_detail_key_not_allowed_for_the_event() -> None:
    with pytest.raises(ForbiddenDetail, match="'pin' is not allowed in login events"):
        append("login", "acct_1", "acct_1", {"method": "passkey", "pin": "123456"})
    assert not AuditEntry.objects.exists()


def test_it_refuses_an_attribute_value_smuggled_into_an_allowed_key() -> None:
    with pytest.raises(ForbiddenDetail, match="'attributes' has the wrong shape for attribute_change events"):
        append("attribute_change", "acct_1", "system:watcher", {"attributes": ["東京都千代田区永田町1-7-1"]})


def test_it_does_not_echo_a_forbidden_key_that_could_be_personal_data() -> None:
    with pytest.raises(ForbiddenDetail) as refused:
        append("login", "acct_1", "acct_1", {"山田 太郎": True})
    assert "山田" not in str(refused.value)


def test_it_refuses_a_subject_that_is_not_an_opaque_id() -> None:
    with pytest.raises(ForbiddenDetail, match="subject must be an opaque id"):
        append("login", "Yamada Taro", "acct_1", {})


def test_it_refuses_an_unknown_event_type() -> None:
    with pytest.raises(ForbiddenDetail, match="unknown audit event type"):
        append("coffee_break", "acct_1", "acct_1", {})


def delete_account_but_fail() -> None:
    with transaction.atomic():
        append("deletion", "acct_1", "acct_1", {"reason": "resident_request"})
        raise RuntimeError("the change being recorded failed")


def test_it_rolls_back_with_the_callers_transaction(log_entries: Callable[[int], list[AuditEntry]]) -> None:
    with pytest.raises(RuntimeError):
        delete_account_but_fail()
    assert not AuditEntry.objects.exists()
    (entry,) = log_entries(1)
    assert entry.seq == 0


@pytest.mark.django_db(transaction=True)
def test_it_gives_a_gapless_chain_to_20_concurrent_appends() -> None:
    writers = 20
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(i: int) -> None:
        try:
            start.wait()
            with transaction.atomic():
                append("login", f"acct_{i}", f"acct_{i}", {"method": "passkey", "outcome": "success"})
        except BaseException as e:  # reported below; a thread's exception is otherwise lost
            failures.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert list(AuditEntry.objects.values_list("seq", flat=True)) == list(range(writers))
    assert sorted(AuditEntry.objects.values_list("subject", flat=True)) == sorted(f"acct_{i}" for i in range(writers))
    assert verify_log({}).ok
