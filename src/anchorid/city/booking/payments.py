"""The payment-provider interface and the simulated provider used by the demo and the tests.

A provider takes a payment in two phases, like card and QR providers do: the payer authorises it on the
provider's pages, the provider notifies the city with a signed callback, and the city captures the amount
(or cancels the authorisation when the booking lapsed meanwhile). Refunds go back through the provider.
A local currency plugs in later as another ``PaymentProvider``.

The simulated provider keeps its ledger in ``SimulatedCharge`` and serves its own "pay" / "decline" page
(``views.simulated_provider_page``). Its callbacks are JSON signed with HMAC-SHA256 under a secret the city and
the provider share (``ANCHORID_SIMULATED_PAYMENT_SECRET``, else derived from the city's secret key); they reach
the city either through the payer's browser (redirect to the return URL) or posted to the webhook URL.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Literal, Protocol

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from anchorid.city.booking.errors import InvalidCallback, PaymentFailed
from anchorid.city.booking.models import SimulatedCharge
from anchorid.common import config, untrusted_json

Outcome = Literal["authorized", "declined"]

#: How old a callback may be (seconds); older ones are refused (a replay of an old notification).
CALLBACK_MAX_AGE = 15 * 60


@dataclass(frozen=True)
class CreatedPayment:
    provider_ref: str
    redirect_url: str  # where the payer's browser goes to authorise


@dataclass(frozen=True)
class PaymentEvent:
    provider_ref: str
    outcome: Outcome
    amount_yen: int


class PaymentProvider(Protocol):
    name: str

    def create_payment(self, *, order_ref: str, amount_yen: int, description: str, return_url: str) -> CreatedPayment:
        """Open a payment; the payer authorises it at ``redirect_url``."""

    def verify_callback(self, payload: bytes, signature: str) -> PaymentEvent:
        """Check a callback's signature and freshness; raise ``InvalidCallback`` when it fails."""

    def capture(self, provider_ref: str, amount_yen: int) -> None:
        """Take an authorised amount; raise ``PaymentFailed`` when it cannot be taken."""

    def cancel(self, provider_ref: str) -> None:
        """Release an authorisation that will not be captured."""

    def refund(self, provider_ref: str, amount_yen: int) -> str:
        """Give back part or all of a captured amount; returns the provider's refund reference."""


def _secret() -> bytes:
    configured = config.SIMULATED_PAYMENT_SECRET.value()
    if configured:
        return configured.encode()
    return hmac.new(settings.SECRET_KEY.encode(), b"anchorid.city.booking.simulated-provider", hashlib.sha256).digest()


def sign(payload: bytes) -> str:
    return hmac.new(_secret(), payload, hashlib.sha256).hexdigest()


def encode_payload(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_payload(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidCallback() from None


class SimulatedProvider:
    """A provider that exists only in this server: its pages ask the payer to pay or decline."""

    name = "simulated"

    def create_payment(self, *, order_ref: str, amount_yen: int, description: str, return_url: str) -> CreatedPayment:
        provider_ref = f"sim_{order_ref}_{secrets.token_hex(8)}"
        SimulatedCharge.objects.create(
            provider_ref=provider_ref, amount_yen=amount_yen, description=description[:200], return_url=return_url
        )
        return CreatedPayment(provider_ref, reverse("booking_simulated_provider", args=[provider_ref]))

    def decide(self, provider_ref: str, *, pay: bool) -> tuple[str, str, str]:
        """The payer's answer on the provider's page: returns (return URL, payload, signature) of the callback."""
        with transaction.atomic():
            charge = SimulatedCharge.objects.select_for_update().get(provider_ref=provider_ref)
            if charge.status == SimulatedCharge.Status.CREATED:
                charge.status = SimulatedCharge.Status.AUTHORIZED if pay else SimulatedCharge.Status.DECLINED
                charge.save(update_fields=["status"])
        outcome: Outcome = "declined" if charge.status == SimulatedCharge.Status.DECLINED else "authorized"
        payload = self.callback_payload(charge.provider_ref, outcome, charge.amount_yen)
        return charge.return_url, encode_payload(payload), sign(payload)

    @staticmethod
    def callback_payload(provider_ref: str, outcome: Outcome, amount_yen: int, issued_at: int | None = None) -> bytes:
        body = {
            "provider_ref": provider_ref,
            "outcome": outcome,
            "amount_yen": amount_yen,
            "issued_at": int(time.time()) if issued_at is None else issued_at,
        }
        return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()

    def verify_callback(self, payload: bytes, signature: str) -> PaymentEvent:
        if not hmac.compare_digest(sign(payload), signature or ""):
            raise InvalidCallback()
        try:
            body = untrusted_json.loads(payload)
            provider_ref, outcome, amount, issued_at = (
                str(body["provider_ref"]),
                body["outcome"],
                int(body["amount_yen"]),
                int(body["issued_at"]),
            )
        except (ValueError, KeyError, TypeError):
            raise InvalidCallback() from None
        if outcome not in ("authorized", "declined") or abs(time.time() - issued_at) > CALLBACK_MAX_AGE:
            raise InvalidCallback()
        return PaymentEvent(provider_ref, outcome, amount)

    def capture(self, provider_ref: str, amount_yen: int) -> None:
        with transaction.atomic():
            charge = SimulatedCharge.objects.select_for_update().filter(provider_ref=provider_ref).first()
            if charge is None or charge.amount_yen != amount_yen:
                raise PaymentFailed()
            if charge.status == SimulatedCharge.Status.CAPTURED:
                return  # idempotent: the browser and the webhook may both deliver
            if charge.status != SimulatedCharge.Status.AUTHORIZED:
                raise PaymentFailed()
            charge.status = SimulatedCharge.Status.CAPTURED
            charge.save(update_fields=["status"])

    def cancel(self, provider_ref: str) -> None:
        SimulatedCharge.objects.filter(
            provider_ref=provider_ref, status__in=[SimulatedCharge.Status.CREATED, SimulatedCharge.Status.AUTHORIZED]
        ).update(status=SimulatedCharge.Status.CANCELLED)

    def refund(self, provider_ref: str, amount_yen: int) -> str:
        with transaction.atomic():
            charge = SimulatedCharge.objects.select_for_update().filter(provider_ref=provider_ref).first()
            if charge is None or charge.status != SimulatedCharge.Status.CAPTURED:
                raise PaymentFailed()
            if amount_yen < 0 or charge.refunded_yen + amount_yen > charge.amount_yen:
                raise PaymentFailed()
            charge.refunded_yen += amount_yen
            charge.save(update_fields=["refunded_yen"])
        return f"{provider_ref}_refund_{secrets.token_hex(4)}"


PROVIDERS: dict[str, PaymentProvider] = {SimulatedProvider.name: SimulatedProvider()}


def provider(name: str | None = None) -> PaymentProvider:
    """The provider named (default: ``ANCHORID_PAYMENT_PROVIDER``, else the simulated one)."""
    chosen = name or config.PAYMENT_PROVIDER.value()
    try:
        return PROVIDERS[chosen]
    except KeyError:
        raise PaymentFailed() from None
