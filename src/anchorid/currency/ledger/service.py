"""Moving money: :func:`create_transfers`, TigerBeetle's ``create_transfers`` on our database.

- A transfer's ``id`` is the client's idempotency key, persisted by the client before it submits. The ``INSERT`` of
  the transfer row comes first (``ON CONFLICT DO NOTHING``): a retry of the same request answers ``exists`` with
  the stored transfer, another request reusing the id answers ``exists_with_different_fields``; nothing moves twice.
- Balances change by guarded ``UPDATE``s inside the same transaction (wallets: debits never exceed credits;
  ``max_balance``: a ceiling per tier). Accounts are updated in id order, so two transfers between the same two
  accounts in opposite directions never deadlock on PostgreSQL; on SQLite the write transaction is ``IMMEDIATE``.
- Two-phase: ``pending`` reserves (``debits_pending``/``credits_pending``), ``post`` (all or part of it) or ``void``
  resolves it once; :func:`expire_pending` voids those past their timeout (the ``currency-pending-expiry`` job).
- Linked: consecutive transfers with ``linked=True`` and the one after form a chain that succeeds or fails as one
  (savepoint); the others in a failed chain answer ``linked_event_failed``.
- Lots: credits to a lot account (wallets) carry expiry dates; debits spend the earliest-expiring eligible lots
  first (``spend_tags``: which tagged lots this debit may use, e.g. a benefit programme's coins only at its
  merchants). :func:`expire_lots` moves what is left of expired lots to the expiry account, idempotently.

Amounts are integer yen: ``0 < amount <= MAX_AMOUNT``; a float, a bool or a string is refused before the database.
"""

# ruff: noqa: S608  (the SQL names our own tables, from the models; every value is a parameter)
from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import OperationalError, connection, transaction
from django.utils import timezone

from anchorid.currency.ledger.models import Account, CreditDelta, Lot, LotUse, Transfer

MAX_AMOUNT = 10**12  # one trillion yen: far above any real transfer; bigger is a mistake
#: In ``spend_tags``: lots of any tag may be spent (e.g. at a local merchant, where every programme's coins count).
ANY_TAG = "*"
ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
KINDS = ("single", "pending", "post", "void")

CREATED = "created"
EXISTS = "exists"
OK = (CREATED, EXISTS)
#: A batch runs as transactions of at most this many chains: 64, PostgreSQL's cache of subtransactions per
#: backend, so the savepoints of the retry path (one per chain) never overflow it; a batch of 100 transfers linked
#: in pairs commits once, as the raw-SQL limit's batch does.
CHAINS_PER_TRANSACTION = 64
DEADLOCK_RETRIES = 3


@dataclass(frozen=True)
class LotSpec:
    amount: int
    expires_at: datetime.datetime
    tag: str = ""


@dataclass(frozen=True)
class TransferSpec:
    id: str
    debit_account: int = 0
    credit_account: int = 0
    #: ``post``: None posts the whole pending amount; ``void``: ignored.
    amount: int | None = None
    kind: str = "single"
    pending_id: str = ""
    timeout: int = 0
    code: int = 0
    linked: bool = False
    #: Lots a credit to a lot account creates (their amounts add up to ``amount``); or one lot expiring at
    #: ``lot_expires_at`` tagged ``lot_tag``; or, with ``carry_lots``, the same expiry and tags as the lots debited.
    lots: tuple[LotSpec, ...] = ()
    lot_expires_at: datetime.datetime | None = None
    lot_tag: str = ""
    carry_lots: bool = False
    spend_tags: frozenset[str] = field(default_factory=lambda: frozenset({""}))
    #: Spend this one lot (the expiry job), even though it has expired.
    from_lot: int | None = None
    memo: str = ""

    def digest(self) -> str:
        """What identifies the request (stored with the transfer; a retry must produce the same)."""
        lots = (
            ";".join(f"{lot.amount},{lot.expires_at.isoformat()},{lot.tag}" for lot in self.lots) if self.lots else ""
        )
        expires = self.lot_expires_at.isoformat() if self.lot_expires_at else ""
        body = (
            f"{self.debit_account}|{self.credit_account}|{self.amount}|{self.kind}|{self.pending_id}|{self.timeout}|"
            f"{self.code}|{lots}|{expires}|{self.lot_tag}|{self.carry_lots}|{','.join(sorted(self.spend_tags))}|"
            f"{self.from_lot}|{self.memo}"
        )
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass
class Result:
    id: str
    status: str
    #: For ``created`` and ``exists``: the stored transfer (id, accounts, amount, kind, state).
    transfer: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status in OK


class _Failed(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def _is_amount(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_AMOUNT


def validate(spec: TransferSpec) -> str | None:
    """The first problem with a request that the database need not see, or None."""
    if not isinstance(spec.id, str) or not ID_PATTERN.match(spec.id):
        return "invalid_id"
    if spec.kind not in KINDS:
        return "invalid_kind"
    if spec.kind in ("post", "void"):
        if not isinstance(spec.pending_id, str) or not ID_PATTERN.match(spec.pending_id):
            return "pending_id_required"
        if spec.kind == "post" and spec.amount is not None and not _is_amount(spec.amount):
            return "invalid_amount"
        return None
    if not _is_amount(spec.amount):
        return "invalid_amount"
    for account in (spec.debit_account, spec.credit_account):
        if not isinstance(account, int) or isinstance(account, bool) or account <= 0:
            return "account_not_found"
    if spec.debit_account == spec.credit_account:
        return "accounts_must_be_different"
    if spec.kind == "pending" and (not isinstance(spec.timeout, int) or not 0 <= spec.timeout <= 30 * 86400):
        return "invalid_timeout"
    amounts = [lot.amount for lot in spec.lots]
    if amounts and (sum(amounts) != spec.amount or not all(_is_amount(amount) for amount in amounts)):
        return "lots_must_add_up"
    return None


def create_transfers(
    specs: Sequence[TransferSpec], *, now: datetime.datetime | None = None, savepoint: bool = True
) -> list[Result]:
    """Apply ``specs`` in order; one result per spec. Each chain (linked transfers and the one after them) is all or
    nothing; a failure in one chain leaves the others standing. Up to ``CHAINS_PER_TRANSACTION`` chains share a
    database transaction (a savepoint each); a deadlock victim is retried whole (its ids make that safe).

    Called inside the caller's transaction, the batch runs in a savepoint; ``savepoint=False`` (one chain only)
    spares those two statements: a failure then marks the caller's whole transaction for rollback, so the caller
    must write nothing more in it (e.g. :func:`anchorid.currency.service.pay`)."""
    now = now or timezone.now()
    results: list[Result | None] = [None] * len(specs)
    chains: list[list[int]] = []
    current: list[int] = []
    for index, spec in enumerate(specs):
        current.append(index)
        if not spec.linked:
            chains.append(current)
            current = []
    if current:  # a chain left open at the end of the batch: TigerBeetle's linked_event_chain_open
        for index in current:
            results[index] = Result(specs[index].id, "linked_event_chain_open")
    for chain in chains:
        for index in chain:
            problem = validate(specs[index])
            if problem:
                _fail_chain(results, specs, chain, index, problem)
                break
    runnable = [chain for chain in chains if results[chain[0]] is None]
    for start in range(0, len(runnable), CHAINS_PER_TRANSACTION):
        part = runnable[start : start + CHAINS_PER_TRANSACTION]
        for attempt in range(DEADLOCK_RETRIES + 1):
            try:
                try:
                    _run_chains(specs, part, results, now, savepoints=False, outer=savepoint)
                except _Retry:
                    _reset(part, results)
                    _run_chains(specs, part, results, now, savepoints=True)
                break
            except OperationalError as error:  # PostgreSQL chose this transaction as a deadlock victim: all undone
                if attempt == DEADLOCK_RETRIES or "deadlock" not in str(error):
                    raise
                _reset(part, results)
    return [
        result if result is not None else Result(specs[i].id, "linked_event_failed") for i, result in enumerate(results)
    ]


class _Retry(Exception):
    """A chain failed in a batch run without savepoints: run the batch again with one per chain."""


def _run_chains(
    specs: Sequence[TransferSpec],
    chains: list[list[int]],
    results: list[Result | None],
    now: datetime.datetime,
    *,
    savepoints: bool,
    outer: bool = True,
) -> None:
    """One database transaction for these chains. Several chains run first without savepoints (two statements
    fewer per chain); if one fails, the whole transaction is undone (``_Retry``) and run again with a savepoint per
    chain, so the failed chain alone is left out."""
    with transaction.atomic(savepoint=outer or len(chains) > 1):
        tables = _Tables()
        with connection.cursor() as cursor:
            if tables.postgresql and sum(len(chain) for chain in chains) > 1:
                _lock_accounts(cursor, tables, [specs[index] for chain in chains for index in chain])
            if len(chains) == 1:  # no savepoint: a failure rolls the whole transaction back
                chain = chains[0]
                try:
                    for index in chain:
                        results[index] = _apply(cursor, tables, specs[index], now)
                except _Failed as failed:
                    transaction.set_rollback(True)
                    failed_index = next(i for i in chain if results[i] is None)
                    _fail_chain(results, specs, chain, failed_index, failed.status)
                return
            if not savepoints:
                order = [index for chain in chains for index in chain]
                try:
                    if all(specs[index].kind in ("single", "pending") for index in order):
                        _apply_many(cursor, tables, specs, order, results, now)
                    else:
                        for index in order:
                            results[index] = _apply(cursor, tables, specs[index], now)
                except _Failed:
                    raise _Retry from None  # leaves the atomic block: everything above is rolled back
                return
            for chain in chains:
                try:
                    with transaction.atomic():
                        for index in chain:
                            results[index] = _apply(cursor, tables, specs[index], now)
                except _Failed as failed:
                    tables.created.clear()  # what the failed chain created was rolled back with its savepoint
                    failed_index = next((i for i in chain if results[i] is None), chain[-1])
                    for index in chain:
                        results[index] = None
                    _fail_chain(results, specs, chain, failed_index, failed.status)


def _lock_accounts(cursor: Any, tables: _Tables, specs: list[TransferSpec]) -> None:
    """PostgreSQL: lock every account the batch touches, in id order, before any update (a batch updating
    accounts in another order than a concurrent batch would otherwise deadlock)."""
    accounts = {spec.debit_account for spec in specs} | {spec.credit_account for spec in specs}
    batch_ids = {spec.id for spec in specs}
    pending_ids = [spec.pending_id for spec in specs if spec.pending_id and spec.pending_id not in batch_ids]
    if pending_ids:
        cursor.execute(
            f"SELECT debit_account_id, credit_account_id FROM {tables.transfer} WHERE id = ANY(%s)", [pending_ids]
        )
        for debit, credit in cursor.fetchall():
            accounts.update((debit, credit))
    ids = sorted(account for account in accounts if isinstance(account, int) and account > 0)
    if len(ids) <= 2:  # e.g. a payment's pending transfer and its post: each UPDATE locks the pair in id order
        return
    cursor.execute(f"SELECT id FROM {tables.account} WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [ids])
    cursor.fetchall()


def _reset(chains: list[list[int]], results: list[Result | None]) -> None:
    for chain in chains:
        for index in chain:
            results[index] = None


def create_transfer(spec: TransferSpec, *, now: datetime.datetime | None = None) -> Result:
    return create_transfers([spec], now=now)[0]


def _fail_chain(
    results: list[Result | None], specs: Sequence[TransferSpec], chain: list[int], at: int, status: str
) -> None:
    for index in chain:
        results[index] = Result(specs[index].id, status if index == at else "linked_event_failed")


class _Tables:
    """The table names, and the pending transfers this transaction created (as :func:`_stored` reads them), so a
    post or void later in the same batch need not read back what it just wrote."""

    account = Account._meta.db_table
    transfer = Transfer._meta.db_table
    lot = Lot._meta.db_table
    lot_use = LotUse._meta.db_table
    credit_delta = CreditDelta._meta.db_table

    def __init__(self) -> None:
        self.created: dict[str, tuple[Any, ...]] = {}
        self.postgresql = connection.vendor == "postgresql"


def _stored(cursor: Any, tables: _Tables, transfer_id: str) -> tuple[Any, ...] | None:
    cursor.execute(
        f"SELECT id, debit_account_id, credit_account_id, amount, kind, pending_id, state, timeout_at, lots, "
        f"body_digest FROM {tables.transfer} WHERE id = %s",
        [transfer_id],
    )
    row: tuple[Any, ...] | None = cursor.fetchone()
    return row


def _as_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "id": row[0], "debit_account": row[1], "credit_account": row[2], "amount": row[3], "kind": row[4],
        "pending_id": row[5], "state": row[6],
    }  # fmt: skip


def _apply(cursor: Any, tables: _Tables, spec: TransferSpec, now: datetime.datetime) -> Result:
    digest = spec.digest()
    pending: tuple[Any, ...] | None = None
    if spec.kind in ("post", "void"):
        pending = tables.created.get(spec.pending_id) or _stored(cursor, tables, spec.pending_id)
        if pending is None or pending[4] != "pending":
            existing = _stored(cursor, tables, spec.id)  # a retry of a post whose pending id is wrong stays wrong
            if existing is not None:
                return _existing(existing, digest)
            raise _Failed("pending_transfer_not_found")
        debit, credit, pending_amount = pending[1], pending[2], pending[3]
        amount = pending_amount if spec.kind == "void" or spec.amount is None else spec.amount
    else:
        debit, credit, amount = spec.debit_account, spec.credit_account, spec.amount
    assert isinstance(amount, int)
    lots_json = _lots_json(spec, amount) if spec.kind in ("single", "pending") else (pending[8] if pending else "")
    row = _row(spec, now, digest, debit, credit, amount, lots_json)
    cursor.execute(_INSERT_SQL, row)
    if cursor.rowcount == 0:
        existing = _stored(cursor, tables, spec.id)
        assert existing is not None
        return _existing(existing, digest)
    if pending is not None:
        _resolve(cursor, tables, spec, pending, amount, now, expiring=False)
        return _created(spec, row)
    return _moved(cursor, tables, spec, now, row)


_INSERT_SQL = (
    f"INSERT INTO {Transfer._meta.db_table} (id, debit_account_id, credit_account_id, amount, code, kind, pending_id, "
    f"state, timeout_at, lots, memo, body_digest, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
    f"%s) ON CONFLICT (id) DO NOTHING"
)


def _row(
    spec: TransferSpec, now: datetime.datetime, digest: str, debit: int, credit: int, amount: int, lots_json: str
) -> tuple[Any, ...]:
    """The transfer's row as :data:`_INSERT_SQL` takes it."""
    pending = spec.kind == "pending"
    timeout_at = now + datetime.timedelta(seconds=spec.timeout) if pending and spec.timeout else None
    return (spec.id, debit, credit, amount, spec.code, spec.kind, spec.pending_id, "pending" if pending else "",
            timeout_at, lots_json, spec.memo[:200], digest, now)  # fmt: skip


def _moved(cursor: Any, tables: _Tables, spec: TransferSpec, now: datetime.datetime, row: tuple[Any, ...]) -> Result:
    """A single or pending transfer whose row was just inserted: its balances and lots."""
    debit, credit, amount = row[1], row[2], row[3]
    lots_json = _move(cursor, tables, spec, debit, credit, amount, now, row[9])
    if spec.kind == "pending":
        tables.created[spec.id] = (spec.id, debit, credit, amount, "pending", "", "pending", row[8], lots_json, row[11])
    return _created(spec, row)


def _created(spec: TransferSpec, row: tuple[Any, ...]) -> Result:
    return Result(spec.id, CREATED, {
        "id": spec.id, "debit_account": row[1], "credit_account": row[2], "amount": row[3], "kind": spec.kind,
        "pending_id": spec.pending_id, "state": row[7],
    })  # fmt: skip


def _apply_many(
    cursor: Any,
    tables: _Tables,
    specs: Sequence[TransferSpec],
    order: list[int],
    results: list[Result | None],
    now: datetime.datetime,
) -> None:
    """Single and pending transfers of a batch run without savepoints: their rows inserted by one ``executemany``,
    then their balances moved one by one. Any id already stored (a retry, or twice in the batch) fails the run
    (``_Retry``: it runs again transfer by transfer, answering ``exists`` as :func:`_apply` does)."""
    rows = []
    for index in order:
        spec = specs[index]
        amount = spec.amount
        assert isinstance(amount, int)
        lots_json = _lots_json(spec, amount)
        rows.append(_row(spec, now, spec.digest(), spec.debit_account, spec.credit_account, amount, lots_json))
    cursor.executemany(_INSERT_SQL, rows)
    if cursor.rowcount != len(rows):
        raise _Failed("exists")
    for index, row in zip(order, rows, strict=True):
        results[index] = _moved(cursor, tables, specs[index], now, row)


def _existing(row: tuple[Any, ...], digest: str) -> Result:
    if row[9] != digest:
        raise _Failed("exists_with_different_fields")
    return Result(row[0], EXISTS, _as_dict(row))


def _lots_json(spec: TransferSpec, amount: int) -> str:
    if spec.lots:
        return json.dumps([[lot.amount, lot.expires_at.isoformat(), lot.tag] for lot in spec.lots])
    if spec.lot_expires_at is not None:
        return json.dumps([[amount, spec.lot_expires_at.isoformat(), spec.lot_tag]])
    return ""


def _move(
    cursor: Any,
    tables: _Tables,
    spec: TransferSpec,
    debit: int,
    credit: int,
    amount: int,
    now: datetime.datetime,
    lots_json: str,
) -> str:
    """Both balances in one guarded ``UPDATE`` (two rows), then the lots; the lots the transfer carries, as JSON."""
    pending = spec.kind == "pending"
    sets = _MOVE_PENDING if pending else _MOVE_POSTED
    pair = [debit, amount, credit, amount]
    check = [debit, amount, amount]
    deltas = (amount, 0) if pending else (0, amount)
    flags = _update_pair(cursor, tables, sets, pair, debit, credit, _MOVE_CHECK, check, deltas)
    if debit not in flags:
        raise _Failed("exceeds_credits" if _exists(cursor, tables, debit) else "debit_account_not_found")
    if credit not in flags:
        raise _Failed("exceeds_limit" if _exists(cursor, tables, credit) else "credit_account_not_found")
    debit_lots, credit_lots = flags[debit], flags[credit]
    carried: list[list[Any]] = []
    if debit_lots:
        carried = _spend(cursor, tables, spec, debit, amount, now)
    if spec.carry_lots:
        if not debit_lots:
            raise _Failed("no_lots_to_carry")
        carried_json = json.dumps(carried)
        if spec.kind == "pending":
            cursor.execute(f"UPDATE {tables.transfer} SET lots = %s WHERE id = %s", [carried_json, spec.id])
        lots_json = carried_json
    if credit_lots and spec.kind == "single":
        _add_lots(cursor, tables, spec.id, credit, amount, lots_json)
    return lots_json


_MOVE_PENDING = (
    "debits_pending = debits_pending + CASE WHEN id = %s THEN %s ELSE 0 END, "
    "credits_pending = credits_pending + CASE WHEN id = %s THEN %s ELSE 0 END"
)
_MOVE_POSTED = _MOVE_PENDING.replace("pending", "posted")
#: Each row's check: the debit's guard (debits never exceed credits), the credit's ceiling.
_MOVE_CHECK = (
    "CASE WHEN id = %s THEN (NOT guard_debits OR credits_posted - debits_posted - debits_pending >= %s) "
    "ELSE (max_balance IS NULL OR credits_posted + credits_pending - debits_posted + %s <= max_balance) END"
)
_RESOLVE = (
    "debits_pending = debits_pending - CASE WHEN id = %s THEN %s ELSE 0 END, "
    "debits_posted = debits_posted + CASE WHEN id = %s THEN %s ELSE 0 END, "
    "credits_pending = credits_pending - CASE WHEN id = %s THEN %s ELSE 0 END, "
    "credits_posted = credits_posted + CASE WHEN id = %s THEN %s ELSE 0 END"
)
#: The credit account takes this credit as a delta (PostgreSQL): it asked to, and a credit to it needs no check.
_DEFERS = "credits_deferred AND max_balance IS NULL AND NOT uses_lots"
_PAIR_SQL: dict[tuple[bool, str, str], str] = {}


def _update_pair(
    cursor: Any,
    tables: _Tables,
    sets: str,
    set_params: list[Any],
    debit: int,
    credit: int,
    check: str,
    check_params: list[Any],
    credit_deltas: tuple[int, int],
) -> dict[int, bool]:
    """One statement moving the balances of a transfer's two accounts; which rows it changed (id → uses_lots).

    SQLite (one writer at a time: its write transaction is ``IMMEDIATE``): one ``UPDATE`` of both rows, each row
    changed when its ``check`` holds (a refused transfer is rolled back by the caller).

    PostgreSQL: both rows or neither. The rows are locked in id order first (so two transfers between the same
    accounts in opposite directions never deadlock), both checks read on the locked rows, then the rows updated.
    A credit to an account with ``credits_deferred`` is not an update of its row but an appended
    :class:`CreditDelta` (``credit_deltas``: what it adds to credits pending and posted): its row is neither locked
    nor changed, so payments to one shop commit side by side instead of queueing on its row until each commit. A
    debit such an account refuses is tried once more after its deltas are folded in (:func:`fold`).

    The answer holds the rows that exist and pass their own check; the balances moved when it holds both."""
    key = (tables.postgresql, sets, check)
    sql = _PAIR_SQL.get(key)
    if sql is None:
        if tables.postgresql:
            sql = (
                f"WITH l AS (SELECT id AS lid, uses_lots, {check} AS ok, credits_deferred FROM {tables.account} WHERE "
                f"id IN (%s, %s) AND "
                f"NOT (id = %s AND {_DEFERS}) ORDER BY id FOR UPDATE), "
                f"k AS (SELECT id FROM {tables.account} WHERE id = %s AND {_DEFERS}), "
                f"g AS (SELECT (SELECT count(*) FROM l WHERE ok) + (SELECT count(*) FROM k) = 2 AS go), "
                f"u AS (UPDATE {tables.account} a SET {sets} FROM l WHERE a.id = l.lid AND (SELECT go FROM g) "
                f"RETURNING a.id), "
                f"c AS (INSERT INTO {tables.credit_delta} (account_id, credits_pending, credits_posted) "
                f"SELECT id, %s, %s FROM k WHERE (SELECT go FROM g) RETURNING account_id) "
                f"SELECT lid, uses_lots, ok, credits_deferred FROM l UNION ALL SELECT id, FALSE, TRUE, FALSE FROM k"
            )
        else:
            sql = f"UPDATE {tables.account} SET {sets} WHERE id IN (%s, %s) AND ({check}) RETURNING id, uses_lots"
        _PAIR_SQL[key] = sql
    if not tables.postgresql:
        cursor.execute(sql, [*set_params, debit, credit, *check_params])
        return {row[0]: bool(row[1]) for row in cursor.cursor.fetchall()}  # the driver's cursor: no wrapper
    params = [*check_params, debit, credit, credit, credit, *set_params, *credit_deltas]
    cursor.execute(sql, params)
    rows = cursor.fetchall()
    # The debit refused, and its account's credits wait as deltas: fold them into its row and try once more.
    if any(row[0] == debit and not row[2] and row[3] for row in rows) and fold(debit, cursor=cursor):
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {row[0]: bool(row[1]) for row in rows if row[2]}


def fold(account_id: int, *, cursor: Any = None) -> bool:
    """Add the account's :class:`CreditDelta` rows to its counters and delete them (PostgreSQL; nothing to do on
    SQLite); whether there were any. Each delta is deleted by exactly one fold (a concurrent fold skips the rows this
    one deleted), and a fold adds what its own ``DELETE`` returned, so nothing counts twice. Without ``cursor`` (a
    reader) the account's row is locked first, as a transfer locks it before it folds, so two folds never deadlock.
    """
    if connection.vendor != "postgresql":
        return False
    if cursor is None:
        with transaction.atomic(), connection.cursor() as own:
            own.execute(f"SELECT id FROM {_Tables.account} WHERE id = %s FOR UPDATE", [account_id])
            return fold(account_id, cursor=own)
    cursor.execute(
        f"WITH d AS (DELETE FROM {_Tables.credit_delta} WHERE account_id = %s RETURNING credits_pending, "
        f"credits_posted), s AS (SELECT count(*) AS n, COALESCE(sum(credits_pending), 0) AS p, "
        f"COALESCE(sum(credits_posted), 0) AS q FROM d) UPDATE {_Tables.account} SET credits_pending = "
        f"credits_pending + s.p, credits_posted = credits_posted + s.q FROM s WHERE id = %s AND s.n > 0 RETURNING id",
        [account_id, account_id],
    )
    return cursor.fetchone() is not None


def account(account_id: int) -> Account:
    """The account with every credit counted (its deltas folded in first): read balances through this."""
    fold(account_id)
    return Account.objects.get(pk=account_id)


def _exists(cursor: Any, tables: _Tables, account: int) -> bool:
    cursor.execute(f"SELECT 1 FROM {tables.account} WHERE id = %s", [account])
    return cursor.fetchone() is not None


def _spend(
    cursor: Any, tables: _Tables, spec: TransferSpec, account: int, amount: int, now: datetime.datetime
) -> list[list[Any]]:
    """Take ``amount`` from the account's eligible lots, earliest expiry first; what was taken, as lot specs."""
    if spec.from_lot is not None:
        cursor.execute(
            f"SELECT id, remaining, tag, expires_at FROM {tables.lot} WHERE id = %s AND account_id = %s",
            [spec.from_lot, account],
        )
        rows = [row for row in cursor.fetchall() if row[1] >= amount]
    else:
        any_tag = ANY_TAG in spec.spend_tags
        tags = sorted(spec.spend_tags)
        eligible = "" if any_tag else f" AND tag IN ({', '.join(['%s'] * len(tags))})"
        # The earliest eligible lot usually covers the amount: one statement takes it (the account's row is locked
        # by this transaction's balance update, so its lots cannot change under us).
        cursor.execute(
            f"UPDATE {tables.lot} SET remaining = remaining - %s WHERE id = (SELECT id FROM {tables.lot} WHERE "
            f"account_id = %s AND remaining > 0 AND expires_at > %s{eligible} ORDER BY expires_at, id LIMIT 1) "
            f"AND remaining >= %s RETURNING id, tag, expires_at",
            [amount, account, now, *([] if any_tag else tags), amount],
        )
        row = cursor.fetchone()
        if row is not None:
            cursor.execute(
                f"INSERT INTO {tables.lot_use} (transfer_id, lot_id, amount, released) VALUES (%s, %s, %s, 0)",
                [spec.id, row[0], amount],
            )
            return [[amount, _iso(row[2]), row[1]]]
        cursor.execute(
            f"SELECT id, remaining, tag, expires_at FROM {tables.lot} WHERE account_id = %s AND remaining > 0 "
            f"AND expires_at > %s ORDER BY expires_at, id",
            [account, now],
        )
        rows = [row for row in cursor.fetchall() if any_tag or row[2] in spec.spend_tags]
    left = amount
    taken: list[tuple[int, int, str, Any]] = []
    for lot_id, remaining, tag, expires_at in rows:
        if left == 0:
            break
        take = min(left, remaining)
        taken.append((lot_id, take, tag, expires_at))
        left -= take
    if left:
        raise _Failed("exceeds_spendable_lots")
    for lot_id, take, _tag, _expires in taken:
        cursor.execute(f"UPDATE {tables.lot} SET remaining = remaining - %s WHERE id = %s", [take, lot_id])
    cursor.executemany(
        f"INSERT INTO {tables.lot_use} (transfer_id, lot_id, amount, released) VALUES (%s, %s, %s, 0)",
        [(spec.id, lot_id, take) for lot_id, take, _tag, _expires in taken],
    )
    return [[take, _iso(expires), tag] for _lot, take, tag, expires in taken]


def _iso(value: Any) -> str:
    if isinstance(value, str):  # SQLite through a raw cursor
        return datetime.datetime.fromisoformat(value).isoformat()
    assert isinstance(value, datetime.datetime)
    return value.isoformat()


def _add_lots(cursor: Any, tables: _Tables, transfer_id: str, account: int, amount: int, lots_json: str) -> None:
    specs = json.loads(lots_json) if lots_json else []
    if not specs:
        raise _Failed("lot_expiry_required")
    rows = []
    left = amount
    for lot_amount, expires_at, tag in specs:
        take = min(left, lot_amount)
        if take <= 0:
            break
        rows.append((account, transfer_id, tag, take, take, datetime.datetime.fromisoformat(expires_at)))
        left -= take
    if left:
        raise _Failed("lots_must_add_up")
    cursor.executemany(
        f"INSERT INTO {tables.lot} (account_id, transfer_id, tag, amount, remaining, expires_at, expired_total) "
        f"VALUES (%s, %s, %s, %s, %s, %s, 0)",
        rows,
    )


def _resolve(
    cursor: Any,
    tables: _Tables,
    spec: TransferSpec,
    pending: tuple[Any, ...],
    amount: int,
    now: datetime.datetime,
    *,
    expiring: bool,
) -> None:
    """Post (``amount`` of it) or void the pending transfer, once."""
    pending_id, debit, credit, pending_amount = pending[0], pending[1], pending[2], pending[3]
    if spec.kind == "post" and amount > pending_amount:
        raise _Failed("exceeds_pending_transfer_amount")
    if not expiring and pending[7] is not None and _aware(pending[7]) <= now:
        raise _Failed("pending_transfer_expired")
    new_state = "posted" if spec.kind == "post" else ("expired" if expiring else "voided")
    cursor.execute(
        f"UPDATE {tables.transfer} SET state = %s WHERE id = %s AND state = 'pending'", [new_state, pending_id]
    )
    if cursor.rowcount != 1:
        cursor.execute(f"SELECT state FROM {tables.transfer} WHERE id = %s", [pending_id])
        row = cursor.fetchone()
        raise _Failed(f"pending_transfer_already_{row[0] if row else 'resolved'}")
    tables.created.pop(pending_id, None)
    posted = amount if spec.kind == "post" else 0
    pair = [debit, pending_amount, debit, posted, credit, pending_amount, credit, posted]
    flags = _update_pair(cursor, tables, _RESOLVE, pair, debit, credit, "TRUE", [], (-pending_amount, posted))
    debit_lots, credit_lots = flags[debit], flags[credit]
    if debit_lots and posted < pending_amount:
        _release(cursor, tables, pending_id, pending_amount - posted)
    if credit_lots and posted:
        _add_lots(cursor, tables, spec.id, credit, posted, pending[8])


def _aware(value: Any) -> datetime.datetime:
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    assert isinstance(value, datetime.datetime)
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def _release(cursor: Any, tables: _Tables, transfer_id: str, amount: int) -> None:
    """Give ``amount`` of what a pending transfer took back to its lots, the latest-expiring first."""
    cursor.execute(
        f"SELECT u.id, u.lot_id, u.amount - u.released FROM {tables.lot_use} u JOIN {tables.lot} l ON l.id = u.lot_id "
        f"WHERE u.transfer_id = %s ORDER BY l.expires_at DESC, l.id DESC",
        [transfer_id],
    )
    left = amount
    for use_id, lot_id, held in cursor.fetchall():
        if left == 0:
            break
        give = min(left, held)
        cursor.execute(f"UPDATE {tables.lot_use} SET released = released + %s WHERE id = %s", [give, use_id])
        cursor.execute(f"UPDATE {tables.lot} SET remaining = remaining + %s WHERE id = %s", [give, lot_id])
        left -= give


# -- jobs ---------------------------------------------------------------------------------------------------------


def expire_pending(*, now: datetime.datetime | None = None, limit: int = 500) -> int:
    """Void each pending transfer past its timeout (state ``expired``); how many. Safe to run anywhere, any number
    of times: the guarded state change lets one run win."""
    now = now or timezone.now()
    due = list(Transfer.objects.filter(state="pending", timeout_at__lte=now).values_list("id", flat=True)[:limit])
    done = 0
    for pending_id in due:
        with transaction.atomic(), connection.cursor() as cursor:
            tables = _Tables()
            pending = _stored(cursor, tables, pending_id)
            if pending is None or pending[6] != "pending":
                continue
            spec = TransferSpec(id=f"timeout:{pending_id}"[:64], kind="void", pending_id=pending_id)
            try:
                with transaction.atomic():
                    _resolve(cursor, tables, spec, pending, pending[3], now, expiring=True)
            except _Failed:
                continue
            done += 1
    return done


@dataclass(frozen=True)
class ExpiryRun:
    expired_lots: int
    expired_yen: int
    noticed_lots: list[int]


def expire_lots(expiry_account: int, *, now: datetime.datetime | None = None, notice_days: int = 30) -> ExpiryRun:
    """Move what is left of each expired lot to ``expiry_account`` (one transfer per lot, its id derived from the
    lot and what it already lost, so a second run, or two at once, moves nothing more), and mark the lots that expire
    within ``notice_days`` as noticed (once each); the caller tells their owners."""
    now = now or timezone.now()
    expired_lots = expired_yen = 0
    for lot in Lot.objects.filter(expires_at__lte=now, remaining__gt=0).order_by("expires_at", "id")[:1000]:
        spec = TransferSpec(
            id=f"expiry:{lot.pk}:{lot.expired_total}",
            debit_account=lot.account_id,
            credit_account=expiry_account,
            amount=lot.remaining,
            from_lot=lot.pk,
            spend_tags=frozenset({lot.tag}),
            code=9,
            memo="expiry",
        )
        with transaction.atomic():
            result = create_transfer(spec, now=now)
            if result.status == CREATED:
                Lot.objects.filter(pk=lot.pk).update(expired_total=lot.expired_total + lot.remaining)
                expired_lots += 1
                expired_yen += lot.remaining
    soon = now + datetime.timedelta(days=notice_days)
    noticed: list[int] = []
    candidates = Lot.objects.filter(expires_at__gt=now, expires_at__lte=soon, remaining__gt=0, notice_sent_at=None)
    for lot_id in candidates.values_list("id", flat=True)[:1000]:
        if Lot.objects.filter(pk=lot_id, notice_sent_at=None).update(notice_sent_at=now):
            noticed.append(lot_id)
    return ExpiryRun(expired_lots, expired_yen, noticed)


# -- reading --------------------------------------------------------------------------------------------------------


def check_invariants() -> list[str]:
    """Every broken ledger invariant, one line each (empty: the ledger is sound)."""
    problems: list[str] = []
    accounts = list(Account.objects.all())
    deltas: dict[int, tuple[int, int]] = {}  # credits not yet folded in (PostgreSQL): they count as folded
    unfolded = CreditDelta.objects.values_list("account_id", "credits_pending", "credits_posted")
    for account_id, pending, posted in unfolded:
        before = deltas.get(account_id, (0, 0))
        deltas[account_id] = (before[0] + pending, before[1] + posted)
    for account in accounts:
        pending, posted = deltas.get(account.pk, (0, 0))
        account.credits_pending += pending
        account.credits_posted += posted
    total = sum(account.credits_posted - account.debits_posted for account in accounts)
    if total != 0:
        problems.append(f"posted balances add up to {total}, not 0")
    pending_total = sum(account.credits_pending - account.debits_pending for account in accounts)
    if pending_total != 0:
        problems.append(f"pending amounts add up to {pending_total}, not 0")
    remaining: dict[int, int] = {}
    for account_id, left in Lot.objects.values_list("account_id", "remaining"):
        if left < 0:
            problems.append(f"a lot of account {account_id} is below zero")
        remaining[account_id] = remaining.get(account_id, 0) + left
    for account in accounts:
        if account.guard_debits and account.debits_posted + account.debits_pending > account.credits_posted:
            problems.append(f"{account.code} is below zero")
        if account.uses_lots and remaining.get(account.pk, 0) != account.available:
            problems.append(f"{account.code}: lots hold {remaining.get(account.pk, 0)}, available {account.available}")
    return problems


def spendable(account: int, tags: Iterable[str], *, now: datetime.datetime | None = None) -> int:
    """What the account could spend now with lots of these tags."""
    now = now or timezone.now()
    lots = Lot.objects.filter(account_id=account, remaining__gt=0, expires_at__gt=now, tag__in=list(tags))
    return sum(lots.values_list("remaining", flat=True))


def open_account(
    code: str,
    kind: str,
    *,
    guard_debits: bool = False,
    uses_lots: bool = False,
    max_balance: int | None = None,
    credits_deferred: bool = False,
) -> Account:
    """The account named ``code``, created once (a second call answers the first one's row). ``credits_deferred``:
    an account many transfers credit at once (a shop), see :attr:`Account.credits_deferred`."""
    defaults = {"kind": kind, "guard_debits": guard_debits, "uses_lots": uses_lots, "max_balance": max_balance}
    account, _ = Account.objects.get_or_create(code=code, defaults={**defaults, "credits_deferred": credits_deferred})
    return account
