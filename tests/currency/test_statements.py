"""The ledger's cost pinned in SQL statements (issue #14's benchmark: the raw-SQL limit is one INSERT and two guarded
UPDATEs per transfer). Transaction control (BEGIN, SAVEPOINT, COMMIT...) is left out of the counts: it differs by
database and by whether the test wraps the call in its own transaction."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from anchorid.currency import service
from anchorid.currency.ledger import service as ledger
from anchorid.currency.ledger.models import Account
from anchorid.currency.ledger.service import TransferSpec
from anchorid.currency.models import Payment

from .conftest import RESIDENT, log_in

pytestmark = pytest.mark.django_db

#: One transfer between guarded accounts without lots: the INSERT of the transfer and one UPDATE of both balances.
SINGLE = 2
#: Between wallets: + the earliest lot taken in one UPDATE, its use recorded, the lot created on the other side.
WALLET_TO_WALLET = 5
#: A payment by a merchant's static QR over HTTP (session, member, merchant; the pending transfer with its lot, its
#: post, the payment row). 21 before issue #14's second round.
PAYMENT = 11
CONTROL = ("BEGIN", "SAVEPOINT", "RELEASE", "COMMIT", "ROLLBACK")


def counted(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries if not query["sql"].upper().startswith(CONTROL)]


def funded(code: str, *, lots: bool) -> Account:
    source = ledger.open_account("issuer:float", "issuer")
    account = ledger.open_account(code, "wallet" if lots else "merchant", guard_debits=True, uses_lots=lots)
    spec = TransferSpec(
        id=f"fund-{code}", debit_account=source.pk, credit_account=account.pk, amount=10_000,
        lot_expires_at=timezone.now() + datetime.timedelta(days=30) if lots else None,
    )  # fmt: skip
    assert ledger.create_transfer(spec).status == "created"
    return account


def test_it_moves_money_in_fewer_statements_than_the_raw_sql_limit() -> None:
    payer, payee = funded("merchant:a", lots=False), funded("merchant:b", lots=False)
    with CaptureQueriesContext(connection) as queries:
        spec = TransferSpec(id="t1", debit_account=payer.pk, credit_account=payee.pk, amount=7)
        result = ledger.create_transfer(spec)
    assert result.status == "created"
    assert len(counted(queries)) == SINGLE, counted(queries)
    with CaptureQueriesContext(connection) as queries:  # a refused transfer costs one read more, writes nothing
        refused = ledger.create_transfer(
            TransferSpec(id="t2", debit_account=payer.pk, credit_account=payee.pk, amount=10**6)
        )
    assert refused.status == "exceeds_credits"
    assert len(counted(queries)) == SINGLE + 1
    assert ledger.check_invariants() == []


def test_it_moves_a_linked_batch_in_one_statement_per_transfer_and_one_insert() -> None:
    payer, payee = funded("merchant:a", lots=False), funded("merchant:b", lots=False)
    specs = [
        TransferSpec(id=f"b{n}", debit_account=payer.pk, credit_account=payee.pk, amount=1, linked=n % 2 == 0)
        for n in range(100)
    ]
    with CaptureQueriesContext(connection) as queries:
        results = ledger.create_transfers(specs)
    assert all(result.status == "created" for result in results)
    # The transfers' rows in one executemany (200 statements before), then one UPDATE of both balances each.
    assert len(counted(queries)) == 1 + len(specs), counted(queries)[:2]
    assert counted(queries)[0].startswith(f"{len(specs)} times: INSERT")
    payee.refresh_from_db()
    assert payee.balance == 10_000 + 100


def test_it_moves_money_between_wallets_in_a_pinned_number_of_statements() -> None:
    payer, payee = funded("wallet:a", lots=True), funded("wallet:b", lots=True)
    spec = TransferSpec(id="w1", debit_account=payer.pk, credit_account=payee.pk, amount=5, carry_lots=True)
    with CaptureQueriesContext(connection) as queries:
        assert ledger.create_transfer(spec).status == "created"
    assert len(counted(queries)) == WALLET_TO_WALLET, counted(queries)
    assert ledger.check_invariants() == []


def test_it_takes_a_payment_over_http_in_a_pinned_number_of_statements() -> None:
    client = Client()
    member = log_in(client, "payer-sub", RESIDENT)
    service.charge(member, 10_000, "charge-1")
    shop = service.register_merchant("owner-sub", "鎌倉パン", "food")
    service.approve_merchant(shop)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/pay/{shop.qr_token}/", {"amount": "300", "payment_id": "pay-1"})
    assert response.status_code == 302
    assert Payment.objects.get(pk="pay-1").state == Payment.CAPTURED
    assert len(counted(queries)) <= PAYMENT, counted(queries)
    again = client.post(f"/pay/{shop.qr_token}/", {"amount": "300", "payment_id": "pay-1"})  # a double submit
    assert again.status_code == 302
    assert service.balance(member) == 11_000 - 300
    assert ledger.check_invariants() == []
