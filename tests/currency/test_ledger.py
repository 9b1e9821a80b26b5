"""The ledger's rules one at a time: idempotent ids, bad input, two-phase, linked chains, lots and their expiry."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from anchorid.currency.ledger import service
from anchorid.currency.ledger.models import Account, Lot, Transfer
from anchorid.currency.ledger.service import LotSpec, TransferSpec

pytestmark = pytest.mark.django_db

YEAR = datetime.timedelta(days=365)


@pytest.fixture
def accounts() -> dict[str, Account]:
    return {
        "float": service.open_account("issuer:float", "issuer"),
        "alice": service.open_account("wallet:a", "wallet", guard_debits=True, uses_lots=True),
        "bob": service.open_account("wallet:b", "wallet", guard_debits=True, uses_lots=True, max_balance=100_000),
        "shop": service.open_account("merchant:1", "merchant", guard_debits=True),
        "expiry": service.open_account("expiry", "expiry"),
    }


def fund(account: Account, amount: int, transfer_id: str, expires_at: datetime.datetime | None = None) -> None:
    float_account = Account.objects.get(code="issuer:float")
    spec = TransferSpec(
        id=transfer_id, debit_account=float_account.pk, credit_account=account.pk, amount=amount,
        lot_expires_at=expires_at or timezone.now() + YEAR,
    )  # fmt: skip
    assert service.create_transfer(spec).status == "created"


def balance(account: Account) -> int:
    account.refresh_from_db()
    return account.balance


def test_it_answers_exists_for_a_retry_and_refuses_another_body(accounts: dict[str, Account]) -> None:
    fund(accounts["alice"], 1000, "t1")
    retry = service.create_transfer(
        TransferSpec(
            id="t1", debit_account=accounts["float"].pk, credit_account=accounts["alice"].pk, amount=1000,
            lot_expires_at=Lot.objects.get().expires_at,
        )
    )  # fmt: skip
    assert retry.status == "exists"
    assert retry.transfer
    assert retry.transfer["amount"] == 1000
    other = service.create_transfer(
        TransferSpec(id="t1", debit_account=accounts["float"].pk, credit_account=accounts["alice"].pk, amount=999)
    )
    assert other.status == "exists_with_different_fields"
    assert balance(accounts["alice"]) == 1000
    assert Transfer.objects.count() == 1
    assert service.check_invariants() == []


@pytest.mark.parametrize(
    ("amount", "debit", "transfer_id", "status"),
    [
        (-5, "alice", "x1", "invalid_amount"),
        (0, "alice", "x2", "invalid_amount"),
        (1.5, "alice", "x3", "invalid_amount"),
        (True, "alice", "x4", "invalid_amount"),
        ("100", "alice", "x5", "invalid_amount"),
        (10**13, "alice", "x6", "invalid_amount"),
        (100, "nobody", "x7", "debit_account_not_found"),
        (100, "alice", "bad id with spaces", "invalid_id"),
        (5000, "alice", "x8", "exceeds_credits"),
        (100, "bob", "x9", "exceeds_credits"),
    ],
)
def test_it_refuses_bad_transfers_writing_nothing(
    accounts: dict[str, Account], amount: object, debit: str, transfer_id: str, status: str
) -> None:
    fund(accounts["alice"], 1000, "seed")
    debit_id = accounts[debit].pk if debit in accounts else 999_999
    spec = TransferSpec(id=transfer_id, debit_account=debit_id, credit_account=accounts["shop"].pk, amount=amount)  # type: ignore[arg-type]
    assert service.create_transfer(spec).status == status
    assert Transfer.objects.count() == 1
    assert balance(accounts["alice"]) == 1000
    assert balance(accounts["shop"]) == 0


def test_it_keeps_the_tier_ceiling(accounts: dict[str, Account]) -> None:
    fund(accounts["bob"], 100_000, "b1")
    spec = TransferSpec(
        id="b2", debit_account=accounts["float"].pk, credit_account=accounts["bob"].pk, amount=1,
        lot_expires_at=timezone.now() + YEAR,
    )  # fmt: skip
    assert service.create_transfer(spec).status == "exceeds_limit"


def test_it_posts_partially_voids_and_expires_pending_transfers(accounts: dict[str, Account]) -> None:
    fund(accounts["alice"], 1000, "seed")
    alice, shop = accounts["alice"].pk, accounts["shop"].pk
    pending = TransferSpec(id="p1", debit_account=alice, credit_account=shop, amount=600, kind="pending", timeout=60)
    assert service.create_transfer(pending).status == "created"
    # the reservation counts: 600 held, only 400 left to spend
    too_much = TransferSpec(id="s1", debit_account=alice, credit_account=shop, amount=401)
    assert service.create_transfer(too_much).status == "exceeds_credits"
    assert (
        service.create_transfer(TransferSpec(id="post1", kind="post", pending_id="p1", amount=450)).status == "created"
    )
    assert (
        service.create_transfer(TransferSpec(id="post1", kind="post", pending_id="p1", amount=450)).status == "exists"
    )
    assert service.create_transfer(TransferSpec(id="void1", kind="void", pending_id="p1")).status == (
        "pending_transfer_already_posted"
    )
    assert service.create_transfer(TransferSpec(id="post2", kind="post", pending_id="nope")).status == (
        "pending_transfer_not_found"
    )
    assert balance(accounts["alice"]) == 550
    assert balance(accounts["shop"]) == 450
    # void gives the reservation back
    service.create_transfer(TransferSpec(id="p2", debit_account=alice, credit_account=shop, amount=500, kind="pending"))
    assert service.create_transfer(TransferSpec(id="v2", kind="void", pending_id="p2")).status == "created"
    # post more than reserved: refused
    service.create_transfer(
        TransferSpec(id="p3", debit_account=alice, credit_account=shop, amount=100, kind="pending", timeout=1)
    )
    assert service.create_transfer(TransferSpec(id="x3", kind="post", pending_id="p3", amount=101)).status == (
        "exceeds_pending_transfer_amount"
    )
    later = timezone.now() + datetime.timedelta(seconds=5)
    assert service.create_transfer(TransferSpec(id="x4", kind="post", pending_id="p3"), now=later).status == (
        "pending_transfer_expired"
    )
    assert service.expire_pending(now=later) == 1
    assert service.expire_pending(now=later) == 0
    assert Transfer.objects.get(id="p3").state == "expired"
    accounts["alice"].refresh_from_db()
    assert accounts["alice"].debits_pending == 0
    assert accounts["alice"].available == 550
    assert service.check_invariants() == []


def test_it_fails_a_linked_chain_as_one(accounts: dict[str, Account]) -> None:
    fund(accounts["alice"], 1000, "seed")
    alice, shop, bob = accounts["alice"].pk, accounts["shop"].pk, accounts["bob"].pk
    results = service.create_transfers(
        [
            TransferSpec(id="ok-alone", debit_account=alice, credit_account=shop, amount=100),
            TransferSpec(id="l1", debit_account=alice, credit_account=shop, amount=100, linked=True),
            TransferSpec(id="l2", debit_account=shop, credit_account=bob, amount=5000, carry_lots=False),
        ]
    )
    assert [r.status for r in results] == ["created", "linked_event_failed", "exceeds_credits"]
    assert balance(accounts["alice"]) == 900
    assert not Transfer.objects.filter(id__in=["l1", "l2"]).exists()
    open_chain = service.create_transfers(
        [TransferSpec(id="o1", debit_account=alice, credit_account=shop, amount=1, linked=True)]
    )
    assert open_chain[0].status == "linked_event_chain_open"
    assert service.check_invariants() == []


def test_it_spends_earliest_lots_first_and_expires_them_idempotently_with_notices(accounts: dict[str, Account]) -> None:
    now = timezone.now()
    alice, shop, expiry = accounts["alice"], accounts["shop"], accounts["expiry"]
    fund(alice, 300, "late", now + datetime.timedelta(days=200))
    fund(alice, 200, "early", now + datetime.timedelta(days=10))
    fund(alice, 100, "middle", now + datetime.timedelta(days=40))
    benefit = TransferSpec(
        id="benefit", debit_account=accounts["float"].pk, credit_account=alice.pk, amount=50,
        lots=(LotSpec(50, now + datetime.timedelta(days=5), "benefit:1"),),
    )  # fmt: skip
    assert service.create_transfer(benefit).status == "created"
    # untagged spending skips the benefit lot and takes the earliest of the others first
    assert service.create_transfer(
        TransferSpec(id="pay", debit_account=alice.pk, credit_account=shop.pk, amount=250)
    ).ok
    left = {lot.transfer_id: lot.remaining for lot in Lot.objects.all()}
    assert left == {"late": 300, "early": 0, "middle": 50, "benefit": 50}
    run = service.expire_lots(expiry.pk, now=now)
    # nothing expired yet; the one unspent lot expiring within 30 days ("benefit", 5 days) is noticed, once
    assert run.expired_lots == 0
    assert len(run.noticed_lots) == 1
    assert service.expire_lots(expiry.pk, now=now).noticed_lots == []
    assert set(Lot.objects.filter(notice_sent_at__isnull=False).values_list("transfer_id", flat=True)) == {"benefit"}
    later = now + datetime.timedelta(days=41)
    first = service.expire_lots(expiry.pk, now=later)
    second = service.expire_lots(expiry.pk, now=later)
    assert (first.expired_lots, first.expired_yen) == (2, 100)  # middle (50) and benefit (50), in expiry order
    assert (second.expired_lots, second.expired_yen) == (0, 0)
    assert balance(alice) == 300
    assert balance(expiry) == 100
    assert service.check_invariants() == []


def test_it_carries_lot_expiry_on_a_transfer_between_wallets(accounts: dict[str, Account]) -> None:
    when = timezone.now() + datetime.timedelta(days=77)
    fund(accounts["alice"], 500, "seed", when)
    spec = TransferSpec(
        id="p2p", debit_account=accounts["alice"].pk, credit_account=accounts["bob"].pk, amount=200, carry_lots=True
    )
    assert service.create_transfer(spec).status == "created"
    lot = Lot.objects.get(account=accounts["bob"])
    assert lot.remaining == 200
    assert abs((lot.expires_at - when).total_seconds()) < 1
    assert service.check_invariants() == []
