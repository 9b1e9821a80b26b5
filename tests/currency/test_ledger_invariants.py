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
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from anchorid.currency.ledger import service
from anchorid.currency.ledger.models import Account, CreditDelta, Transfer
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


def _run_concurrently(target: Callable[..., None], args: list[tuple[Any, ...]]) -> None:
    """``target`` with each of ``args``: the first PROCESSES in forked processes, the rest in threads of this one;
    every process must exit cleanly."""
    connections.close_all()
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=target, args=each) for each in args[:PROCESSES]]
    threads = [threading.Thread(target=target, args=each) for each in args[PROCESSES:]]
    for started in (*processes, *threads):
        started.start()
    for thread in threads:
        thread.join()
    for process in processes:
        process.join()
        assert process.exitcode == 0


def test_it_keeps_the_invariants_under_10000_concurrent_random_transfers() -> None:
    wallets = _setup()
    _run_concurrently(_run, [(worker, wallets) for worker in range(PROCESSES + THREADS)])
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


SHOP_PAYMENTS = 120  # per worker: a payment (pending and its post, linked) of 3 yen to one shop
SHOP_AMOUNT = 3


def _shop_setup() -> tuple[list[int], int, int]:
    """A payer per worker, and two shops whose credits are deferred (on PostgreSQL: appended as deltas)."""
    issuer = service.open_account("issuer:float", "issuer")
    payers = [service.open_account(f"payer:{n}", "payer", guard_debits=True).pk for n in range(PROCESSES + THREADS)]
    shop, supplier = (
        service.open_account(f"merchant:{name}", "merchant", guard_debits=True, credits_deferred=True).pk
        for name in ("shop", "supplier")
    )
    seed = [
        TransferSpec(id=f"seed-{n}", debit_account=issuer.pk, credit_account=payer, amount=1000)
        for n, payer in enumerate(payers)
    ]
    assert all(result.ok for result in service.create_transfers(seed))
    return payers, shop, supplier


def _pay_shop(worker: int, payer: int, shop: int, supplier: int) -> None:
    """Payments to the one shop, while the shop pays its supplier (a debit of the shop: past its folded credits,
    its deltas are folded in) and its balance is read (a fold from outside a transfer)."""
    try:
        for n in range(SHOP_PAYMENTS):
            payment = f"pay-{worker}-{n}"
            pay = [
                TransferSpec(
                    id=payment, debit_account=payer, credit_account=shop, amount=SHOP_AMOUNT, kind="pending",
                    timeout=600, linked=True,
                ),
                TransferSpec(id=f"{payment}.c", kind="post", pending_id=payment),
            ]  # fmt: skip
            assert [result.status for result in service.create_transfers(pay)] == ["created", "created"]
            if n % 10 == 5:
                out = TransferSpec(id=f"out-{worker}-{n}", debit_account=shop, credit_account=supplier, amount=2)
                assert service.create_transfer(out).status in ("created", "exceeds_credits")
            if n % 40 == 0:
                assert service.account(shop).available >= 0
    finally:
        connections.close_all()


def test_it_keeps_the_invariants_under_concurrent_payments_to_one_shop_paying_out() -> None:
    payers, shop, supplier = _shop_setup()
    _run_concurrently(_pay_shop, [(worker, payers[worker], shop, supplier) for worker in range(PROCESSES + THREADS)])
    assert service.check_invariants() == []  # deltas not yet folded count as credits
    if connections["default"].vendor == "postgresql":  # the shops' credits did go through deltas
        assert CreditDelta.objects.filter(account_id__in=(shop, supplier)).exists()
    paid = SHOP_PAYMENTS * (PROCESSES + THREADS) * SHOP_AMOUNT
    out = Transfer.objects.filter(id__startswith="out-").count() * 2
    assert out > 0
    assert service.account(shop).balance == paid - out
    assert service.account(supplier).balance == out
    assert not CreditDelta.objects.filter(account_id__in=(shop, supplier)).exists()  # folded, each delta once
    for payer in payers:
        assert service.account(payer).balance == 1000 - SHOP_PAYMENTS * SHOP_AMOUNT
    assert service.check_invariants() == []
