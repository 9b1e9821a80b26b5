"""The currency's own records beside the ledger: members (by the currency's pairwise ``sub``, with the tier from
verified claims), merchants, payments, benefit programmes and claims, settlements and notices. Money itself lives
only in the ledger (:mod:`anchorid.currency.ledger`); these rows name ledger accounts and transfers by id.

No names, no addresses, no birth dates: a member is a pairwise ``sub``, a tier, the municipality code and an age
band (only ``65+`` when the resident released ``age_over_65``)."""

from __future__ import annotations

from django.db import models


class Member(models.Model):
    RESIDENT, VISITOR = "resident", "visitor"

    sub = models.CharField(max_length=255, unique=True)
    tier = models.CharField(max_length=8)
    resident_of = models.CharField(max_length=6, blank=True)
    age_band = models.CharField(max_length=8, blank=True)
    account_id = models.BigIntegerField(unique=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"member {self.pk}"


class Merchant(models.Model):
    PENDING, APPROVED = "pending", "approved"

    name = models.CharField(max_length=100)
    category = models.CharField(max_length=32)
    local = models.BooleanField(default=True)
    owner_sub = models.CharField(max_length=255, db_index=True)
    status = models.CharField(max_length=8, default=PENDING)
    #: The static QR names the merchant by this (random, not the row id).
    qr_token = models.CharField(max_length=32, unique=True)
    account_id = models.BigIntegerField(unique=True)
    bank_account = models.CharField(max_length=32, blank=True)
    registered_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Payment(models.Model):
    """A two-phase payment: the pending ledger transfer ``id`` (authorised), then captured (posted) or voided."""

    AUTHORISED, CAPTURED, VOIDED = "authorised", "captured", "voided"

    id = models.CharField(max_length=64, primary_key=True)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="payments")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="payments")
    amount = models.BigIntegerField()
    state = models.CharField(max_length=10, default=AUTHORISED)
    method = models.CharField(max_length=8)  # static (the merchant's QR) or token (the resident's payment QR)
    refunded = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"payment {self.pk}"


class PaymentToken(models.Model):
    """A one-time payment QR a resident shows; the merchant's terminal reads it and asks for an amount."""

    token = models.CharField(max_length=64, unique=True)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()
    payment = models.OneToOneField(Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return "payment token"


class Programme(models.Model):
    """A benefit (給付) defined by the city: ``amount`` per person from ``budget``, for residents of
    ``resident_of`` (and 65 or older when ``needs_age_over_65``), claimable in the window, coins valid
    ``coin_days``, usable at local merchants only when ``local_only``."""

    name = models.CharField(max_length=100)
    amount = models.BigIntegerField()
    budget = models.BigIntegerField()
    resident_of = models.CharField(max_length=6)
    needs_age_over_65 = models.BooleanField(default=False)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    coin_days = models.PositiveIntegerField(default=183)
    local_only = models.BooleanField(default=True)
    account_id = models.BigIntegerField(unique=True)
    returned_transfer = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return self.name

    @property
    def tag(self) -> str:
        return f"benefit:{self.pk}"


class Claim(models.Model):
    """One claim per person and programme: the unique constraint decides between concurrent claims."""

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="claims")
    sub = models.CharField(max_length=255)
    transfer_id = models.CharField(max_length=64)
    claimed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (models.UniqueConstraint(fields=["programme", "sub"], name="currency_one_claim_per_person"),)

    def __str__(self) -> str:
        return f"claim {self.pk}"


class Settlement(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="settlements")
    day = models.DateField()
    gross = models.BigIntegerField()
    fee = models.BigIntegerField()
    net = models.BigIntegerField()

    class Meta:
        constraints = (models.UniqueConstraint(fields=["merchant", "day"], name="currency_one_settlement_a_day"),)

    def __str__(self) -> str:
        return f"settlement {self.day}"


class Notice(models.Model):
    """A message to a member (coins expiring within 30 days); one per lot."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="notices")
    lot_id = models.BigIntegerField(unique=True)
    amount = models.BigIntegerField()
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"notice {self.pk}"


class UsedLogoutToken(models.Model):
    jti = models.CharField(max_length=255, unique=True)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return "logout token"


class Partner(models.Model):
    """A service that credits members through the currency's API with a token the idp exchanged for it (e.g. the
    health points app): named by its ``client_id`` at the idp (the token's ``act``), paying from its own prepaid
    account at the issuer (``partner:<client_id>``), with coins valid ``coin_days``."""

    client_id = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=100)
    account_id = models.BigIntegerField(unique=True)
    coin_days = models.PositiveIntegerField(default=183)
    active = models.BooleanField(default=True)
    registered_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class PartnerCredit(models.Model):
    """One credit a partner made: its own transfer id (the idempotency key it chose), the ledger transfer, and the
    month it counts toward the member's monthly cap."""

    transfer_id = models.CharField(max_length=64, primary_key=True, help_text="the ledger transfer id")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="credits")
    partner_transfer_id = models.CharField(max_length=64)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="partner_credits")
    amount = models.BigIntegerField()
    month = models.CharField(max_length=7)
    memo = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["partner", "partner_transfer_id"], name="currency_one_credit_per_id"),
        )

    def __str__(self) -> str:
        return f"partner credit {self.pk}"


class PartnerMonth(models.Model):
    """What a partner credited a member in a month: the cap is a guarded ``UPDATE`` of ``credited`` inside the
    credit's transaction, so two concurrent credits cannot both pass it."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    month = models.CharField(max_length=7)
    credited = models.BigIntegerField(default=0)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["partner", "member", "month"], name="currency_one_partner_month"),
        )

    def __str__(self) -> str:
        return f"partner month {self.month}"
