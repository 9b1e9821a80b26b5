"""The issue's "invariants under attack": 10,000 random transfers at once from threads and processes (retries with
the same ids, pending/post/void/timeout, insufficient balances), then a SIGKILL of the process applying a batch and
the client's retry. Afterwards the sum over accounts is 0, no wallet is below 0, each id was applied once.

Each worker submits its transfers in batches (one database transaction per batch, savepoints per transfer): 10,000
transfers in a few seconds on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime
import multiprocessing
import os
import random
import signal
import threading
import time

import pytest
from django.db import connections
from django.utils import timezone

from anchorid.currency.ledger import service
from anchorid.currency.ledger.models import Account, Transfer
from anchorid.currency.ledger.service import TransferSpec

pytestmark = pytest.mark.django_db(transaction=True)

WALLETS = 20
PROCESSES = 2
THREADS = 2
PER_WORKER = 2500  # 4 workers x 2,500 = 10,000 transfers
BATCH = 50
KILL_BATCH = 1200  # transfers in the batch a process is killed in the middle of


def _setup() -> list[int]:
    issuer = service.open_account("issuer:float", "issuer")
    wallets = [
        service.open_account(f"wallet:{n}", "wallet", guard_debits=True, uses_lots=True).pk for n in range(WALLETS)
    ]
    expires = timezone.now() + datetime.timedelta(days=365)
    seed = [
        TransferSpec(
            id=f"seed-{n}", debit_account=issuer.pk, credit_account=wallet, amount=1000, lot_expires_at=expires
        )
        for n, wallet in enumerate(wallets)
    ]
    assert all(result.ok for result in service.create_transfers(seed))
    return wallets


def _specs(worker: int, wallets: list[int]) -> list[TransferSpec]:
    """Random transfers between wallets, a third of them two-phase; amounts often above what a wallet holds."""
    rng = random.Random(worker)
    specs: list[TransferSpec] = []
    for n in range(PER_WORKER):
        debit, credit = rng.sample(wallets, 2)
        amount = rng.choice([1, 7, 50, 300, 1500])
        transfer_id = f"w{worker}-{n}"
        roll = rng.random()
        if roll < 0.6:
            specs.append(
                TransferSpec(id=transfer_id, debit_account=debit, credit_account=credit, amount=amount, carry_lots=True)
            )
        elif roll < 0.75:
            specs.append(
                TransferSpec(
                    id=transfer_id,
                    debit_account=debit,
                    credit_account=credit,
                    amount=amount,
                    kind="pending",
                    timeout=rng.choice([0, 1]),
                    carry_lots=True,
                )
            )
        elif roll < 0.85 and specs:
            earlier = rng.choice(specs)
            specs.append(TransferSpec(id=transfer_id, kind="post", pending_id=earlier.id, amount=rng.choice([None, 1])))
        elif roll < 0.92 and specs:
            earlier = rng.choice(specs)
            specs.append(TransferSpec(id=transfer_id, kind="void", pending_id=earlier.id))
        else:  # a retry of an earlier transfer: exists, never applied twice
            specs.append(
                rng.choice(specs)
                if specs
                else TransferSpec(
                    id=transfer_id, debit_account=debit, credit_account=credit, amount=amount, carry_lots=True
                )
            )
    return specs


def _run(worker: int, wallets: list[int]) -> None:
    specs = _specs(worker, wallets)
    try:
        for start in range(0, len(specs), BATCH):
            for result in service.create_transfers(specs[start : start + BATCH]):
                assert result.status not in ("exists_with_different_fields", "invalid_amount"), result
    finally:
        connections.close_all()


def _check(wallets: list[int]) -> None:
    service.expire_pending(now=timezone.now() + datetime.timedelta(seconds=5))
    assert service.check_invariants() == []
    for account in Account.objects.filter(pk__in=wallets):
        assert account.available >= 0
    assert Account.objects.get(code="issuer:float").balance == -WALLETS * 1000


def test_it_keeps_the_invariants_under_10000_concurrent_random_transfers() -> None:
    wallets = _setup()
    connections.close_all()
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_run, args=(worker, wallets)) for worker in range(PROCESSES)]
    threads = [threading.Thread(target=_run, args=(PROCESSES + worker, wallets)) for worker in range(THREADS)]
    for started in (*processes, *threads):
        started.start()
    for thread in threads:
        thread.join()
    for process in processes:
        process.join()
        assert process.exitcode == 0
    _check(wallets)
    # each id once: a transfer row per distinct id, no more
    distinct = {spec.id for worker in range(PROCESSES + THREADS) for spec in _specs(worker, wallets)}
    assert Transfer.objects.exclude(id__startswith="seed-").exclude(id__startswith="timeout:").filter(
        id__in=distinct
    ).count() <= len(distinct)
    assert (
        not Transfer.objects.exclude(id__startswith="seed-")
        .exclude(id__startswith="timeout:")
        .exclude(id__in=distinct)
        .exists()
    )


def _batch(wallets: list[int]) -> list[TransferSpec]:
    return [
        TransferSpec(
            id=f"kill-{n}",
            debit_account=wallets[n % WALLETS],
            credit_account=wallets[(n + 1) % WALLETS],
            amount=1,
            carry_lots=True,
            linked=n % 2 == 0,
        )
        for n in range(KILL_BATCH)
    ]


def _apply_one_by_one(wallets: list[int]) -> None:
    batch = _batch(wallets)
    for pair in range(0, KILL_BATCH, 2):  # the client's batch, one linked pair per request
        service.create_transfers(batch[pair : pair + 2])


def test_it_completes_a_batch_exactly_once_after_a_sigkill_mid_batch() -> None:
    wallets = _setup()
    before = {account.pk: account.balance for account in Account.objects.filter(pk__in=wallets)}
    connections.close_all()
    process = multiprocessing.get_context("fork").Process(target=_apply_one_by_one, args=(wallets,))
    process.start()
    deadline = time.monotonic() + 30
    while Transfer.objects.filter(id__startswith="kill-").count() < 40 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)  # mid-batch: some pairs committed, one maybe in flight
    process.join()
    applied = Transfer.objects.filter(id__startswith="kill-").count()
    assert 0 < applied < KILL_BATCH
    assert applied % 2 == 0
    assert service.check_invariants() == []
    results = service.create_transfers(_batch(wallets))  # the client's retry of the whole batch, same ids
    assert sum(result.status == "exists" for result in results) == applied
    assert sum(result.status == "created" for result in results) == KILL_BATCH - applied
    assert Transfer.objects.filter(id__startswith="kill-").count() == KILL_BATCH
    # each wallet paid its right-hand neighbour as often as its left-hand one paid it: unchanged
    assert {account.pk: account.balance for account in Account.objects.filter(pk__in=wallets)} == before
    assert service.check_invariants() == []
