"""The ledger's three tables. Rows of :class:`Transfer` are never updated except a pending transfer's ``state``
(pending → posted / voided / expired, once); balances live on :class:`Account` as four integer counters, as in
TigerBeetle, and change only inside :func:`anchorid.currency.ledger.service.create_transfers`.

Invariant (tests/currency/test_ledger_invariants.py): for every account ``balance = credits_posted -
debits_posted``; the sum of all balances is 0; a wallet never has ``debits_posted + debits_pending >
credits_posted``; the unspent lots of a lot account add up to ``credits_posted - debits_posted - debits_pending``.
On PostgreSQL an account with ``credits_deferred`` (a merchant: many payments at once) also has its credits as
:class:`CreditDelta` rows not yet folded into the counters: its counters are those of the row plus its deltas
(:func:`anchorid.currency.ledger.service.account` folds them and answers the row).
"""

from __future__ import annotations

from django.db import models


class Account(models.Model):
    """One account of the single yen ledger. ``code`` names it (``wallet:<n>``, ``merchant:<n>``,
    ``issuer:float``, ``benefit:<n>``, ``expiry``, ``fees``...)."""

    code = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16)
    debits_posted = models.BigIntegerField(default=0)
    credits_posted = models.BigIntegerField(default=0)
    debits_pending = models.BigIntegerField(default=0)
    credits_pending = models.BigIntegerField(default=0)
    #: TigerBeetle's debits_must_not_exceed_credits: wallets and merchants never go below zero.
    guard_debits = models.BooleanField(default=False)
    #: A ceiling on the balance (posted and pending credits count), e.g. per tier; null: none.
    max_balance = models.BigIntegerField(null=True, blank=True)
    #: Credits arrive as expiry lots; debits spend the earliest-expiring lots first.
    uses_lots = models.BooleanField(default=False)
    #: A hot credit account (a merchant): on PostgreSQL a credit to it is appended as a :class:`CreditDelta` row
    #: instead of updating (and locking until commit) this row, so concurrent payments to one shop do not queue
    #: behind each other's commits. Only honoured without ``max_balance`` and lots (a credit then needs no check);
    #: never changes once set.
    credits_deferred = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.code

    @property
    def balance(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        return self.credits_posted - self.debits_posted - self.debits_pending


class CreditDelta(models.Model):
    """A credit to a ``credits_deferred`` account not yet folded into its counters (PostgreSQL only). Appended by the
    transfer that credits the account, in its transaction; deleted by the fold that adds it to the account's row
    (:func:`anchorid.currency.ledger.service.fold`), so each delta counts once."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    credits_pending = models.BigIntegerField(default=0)
    credits_posted = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"credit delta {self.pk}"


class Transfer(models.Model):
    """An immutable movement of ``amount`` yen from ``debit_account`` to ``credit_account``. ``id`` is the
    client's idempotency key. ``kind``: ``single``, ``pending``, ``post`` or ``void`` (``pending_id`` names the
    pending transfer a post or void resolves)."""

    id = models.CharField(max_length=64, primary_key=True)
    debit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    credit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    code = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=8, default="single")
    pending_id = models.CharField(max_length=64, blank=True, db_index=True)
    #: For a pending transfer: pending, posted, voided or expired. Empty for the others.
    state = models.CharField(max_length=8, blank=True)
    timeout_at = models.DateTimeField(null=True, blank=True)
    #: The lots a credit to a lot account creates, as JSON (kept for a pending transfer's post).
    lots = models.TextField(blank=True)
    memo = models.CharField(max_length=200, blank=True)
    #: A digest of the request: a retry with the same id and body is answered "exists", another body is refused.
    body_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        indexes = (models.Index(fields=["state", "timeout_at"], name="currency_tr_pending_idx"),)

    def __str__(self) -> str:
        return self.id


class Lot(models.Model):
    """Part of a lot account's credit with its expiry date. ``tag`` restricts where it may be spent (empty: anywhere;
    ``benefit:<n>``: only where that programme allows)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lots")
    transfer_id = models.CharField(max_length=64)
    tag = models.CharField(max_length=32, blank=True)
    amount = models.BigIntegerField()
    remaining = models.BigIntegerField()
    expires_at = models.DateTimeField()
    notice_sent_at = models.DateTimeField(null=True, blank=True)
    expired_total = models.BigIntegerField(default=0)

    class Meta:
        indexes = (
            models.Index(fields=["account", "expires_at"], name="currency_lot_spend_idx"),
            models.Index(fields=["expires_at"], name="currency_lot_expiry_idx"),
        )

    def __str__(self) -> str:
        return f"lot {self.pk}"


class LotUse(models.Model):
    """How much of a lot a debit (pending or single) took; a void, expiry or partial post gives ``released`` back."""

    transfer_id = models.CharField(max_length=64, db_index=True)
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    released = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"use of lot {self.lot_id}"
