"""Guardianships, child accounts, the guardian's approvals of services, and the child's one-time set-up links."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from anchorid.idp.accounts.models import Account


class ChildAccount(models.Model):
    """An account opened for a minor through a guardian. ``stage``: child (<15, the guardian decides), teen (15-17,
    re-anchored on the signature certificate, the guardian's role narrowed), adult (18: guardianship over)."""

    class Stage(models.TextChoices):
        CHILD = "child", "15歳未満"
        TEEN = "teen", "15-17歳"
        ADULT = "adult", "成年"

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="child_profile")
    stage = models.CharField(max_length=8, choices=Stage.choices, default=Stage.CHILD)
    authentication_serial = models.CharField(max_length=64, help_text="the child's card: user-authentication cert")
    created_at = models.DateTimeField(default=timezone.now)
    reanchored_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"child account {self.pk}"


class Guardianship(models.Model):
    class Role(models.TextChoices):
        FULL = "full", "保護者（全面）"
        NARROWED = "narrowed", "保護者（限定）"
        ENDED = "ended", "終了"

    class ConfirmedBy(models.TextChoices):
        REGISTER = "register", "住民基本台帳 (J-LIS)"
        COUNTER = "counter", "市区町村窓口"

    child = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="guardianships")
    guardian = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="wards")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.FULL)
    confirmed_by = models.CharField(max_length=10, choices=ConfirmedBy.choices)
    #: What was checked: the register's answer (relation, household, checks) or the counter's (staff, documents).
    checked = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    narrowed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["child", "guardian"], name="guardianship_once")]

    def __str__(self) -> str:
        return f"guardianship {self.pk}"


class ServiceApproval(models.Model):
    """A service asked for a child's claims; the guardian approves (each claim) or refuses."""

    class Status(models.TextChoices):
        PENDING = "pending", "承認待ち"
        APPROVED = "approved", "承認"
        REFUSED = "refused", "拒否"

    child = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="service_approvals")
    client = models.ForeignKey("oidc.Client", on_delete=models.CASCADE, related_name="+")
    requested = models.JSONField(help_text="claim name → essential")
    granted = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"service approval {self.pk}"


class ChildSetupLink(models.Model):
    """A one-time link (hash kept) with which the child, on their own device, logs in with their card once and
    registers a passkey."""

    child = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"child setup link {self.pk}"


class CounterRequest(models.Model):
    """A guardian's request to have the relation confirmed at the city counter (the register could not, or the
    guardian chose the counter): the child's card, proved in the guardian's session, waits here under a short code
    the guardian shows at the counter. Staff with the ``confirm_at_counter`` permission look it up, check the
    documents and type the child's attributes from them (anchorid.idp.guardians.counter)."""

    code = models.CharField(max_length=16, unique=True)
    guardian = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    card = models.JSONField(help_text="the child's card as the guardian's session proved it (ChildCard.as_session)")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    child = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        permissions = (("confirm_at_counter", "Can confirm a guardian relation at the city counter"),)

    def __str__(self) -> str:
        return f"counter request {self.pk}"
