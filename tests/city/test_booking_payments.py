"""Payments through the provider interface with the simulated provider: authorise, signed callback, capture,
receipt, refund; forged, tampered, stale and replayed callbacks change nothing."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.test import Client

from anchorid.city.booking import service
from anchorid.city.booking.errors import InvalidCallback, PaymentDeadlinePassed, PaymentFailed
from anchorid.city.booking.models import Booking, Payment, Receipt, SimulatedCharge
from anchorid.city.booking.payments import SimulatedProvider, decode_payload, provider, sign

from .booking_support import facility, resident_claims, slot_in, user

pytestmark = pytest.mark.django_db


def pay_in_full(booking: Booking) -> Booking:
    """Pay a tentative booking the way a resident does: open the payment, answer "pay", deliver the callback."""
    created = service.start_payment(booking, "http://testserver/return/")
    ref = created.provider_ref
    _, payload, signature = SimulatedProvider().decide(ref, pay=True)
    event = provider().verify_callback(decode_payload(payload), signature)
    return service.apply_payment_event("simulated", event)


def test_it_confirms_and_numbers_a_receipt_once_paid() -> None:
    booking = service.book(user(resident_claims()), slot_in(10, facility()))
    paid = pay_in_full(booking)
    assert paid.status == Booking.Status.CONFIRMED
    receipt = Receipt.objects.get(booking=booking)
    assert receipt.amount_yen == 6000
    assert receipt.number == f"R{receipt.issued_at:%Y}-{receipt.pk:06d}" or receipt.number.startswith("R")
    assert SimulatedCharge.objects.get().status == SimulatedCharge.Status.CAPTURED


def test_it_applies_a_callback_once_when_it_arrives_twice() -> None:
    booking = service.book(user(resident_claims()), slot_in(10, facility()))
    created = service.start_payment(booking, "http://testserver/return/")
    _, payload, signature = SimulatedProvider().decide(created.provider_ref, pay=True)
    for _ in range(2):  # the browser return and the webhook
        service.apply_payment_event("simulated", provider().verify_callback(decode_payload(payload), signature))
    assert Receipt.objects.count() == 1
    assert Payment.objects.get().status == Payment.Status.CAPTURED


def test_it_keeps_the_booking_tentative_when_the_payer_declines() -> None:
    booking = service.book(user(resident_claims()), slot_in(10, facility()))
    created = service.start_payment(booking, "http://testserver/return/")
    _, payload, signature = SimulatedProvider().decide(created.provider_ref, pay=False)
    after = service.apply_payment_event("simulated", provider().verify_callback(decode_payload(payload), signature))
    assert after.status == Booking.Status.TENTATIVE
    assert not Receipt.objects.exists()
    assert pay_in_full(after).status == Booking.Status.CONFIRMED  # a second try succeeds


def test_it_refuses_a_tampered_or_unsigned_callback() -> None:
    booking = service.book(user(resident_claims()), slot_in(10, facility()))
    created = service.start_payment(booking, "http://testserver/return/")
    _, payload, signature = SimulatedProvider().decide(created.provider_ref, pay=False)
    body = json.loads(decode_payload(payload))
    body["outcome"] = "authorized"
    tampered = json.dumps(body).encode()
    with pytest.raises(InvalidCallback):
        provider().verify_callback(tampered, signature)
    with pytest.raises(InvalidCallback):
        provider().verify_callback(decode_payload(payload), "")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.TENTATIVE


def test_it_refuses_a_stale_callback() -> None:
    payload = SimulatedProvider.callback_payload("sim_x", "authorized", 100, issued_at=int(time.time()) - 3600)
    with pytest.raises(InvalidCallback):
        provider().verify_callback(payload, sign(payload))


def test_it_refuses_a_callback_for_another_amount() -> None:
    booking = service.book(user(resident_claims()), slot_in(10, facility()))
    created = service.start_payment(booking, "http://testserver/return/")
    SimulatedProvider().decide(created.provider_ref, pay=True)
    payload = SimulatedProvider.callback_payload(created.provider_ref, "authorized", 1)
    with pytest.raises(InvalidCallback):
        service.apply_payment_event("simulated", provider().verify_callback(payload, sign(payload)))
    assert not Receipt.objects.exists()


def test_it_releases_the_authorisation_when_the_booking_lapsed_meanwhile() -> None:
    booking = service.book(user(resident_claims()), slot_in(10, facility()))
    created = service.start_payment(booking, "http://testserver/return/")
    _, payload, signature = SimulatedProvider().decide(created.provider_ref, pay=True)
    event = provider().verify_callback(decode_payload(payload), signature)
    assert booking.payment_deadline is not None
    with pytest.raises(PaymentDeadlinePassed):
        service.apply_payment_event("simulated", event, at=booking.payment_deadline + dt.timedelta(seconds=1))
    booking.refresh_from_db()
    assert booking.status == Booking.Status.EXPIRED
    assert SimulatedCharge.objects.get().status == SimulatedCharge.Status.CANCELLED
    assert not Receipt.objects.exists()


def test_it_refuses_to_refund_more_than_was_paid() -> None:
    booking = pay_in_full(service.book(user(resident_claims()), slot_in(10, facility())))
    charge = SimulatedCharge.objects.get()
    with pytest.raises(PaymentFailed):
        provider().refund(charge.provider_ref, charge.amount_yen + 1)
    service.cancel(booking)
    charge.refresh_from_db()
    assert charge.refunded_yen == charge.amount_yen


def test_it_accepts_a_signed_webhook_and_refuses_a_forged_one(client: Client) -> None:
    booking = service.book(user(resident_claims()), slot_in(10, facility()))
    created = service.start_payment(booking, "http://testserver/return/")
    SimulatedProvider().decide(created.provider_ref, pay=True)
    payload = SimulatedProvider.callback_payload(created.provider_ref, "authorized", booking.fee_yen)
    url = "/booking/payments/simulated/callback/"
    forged = client.post(url, payload, content_type="application/json", headers={"X-Anchorid-Signature": "0" * 64})
    assert forged.status_code == 400
    assert forged.json() == {"error": "invalid_callback"}
    booking.refresh_from_db()
    assert booking.status == Booking.Status.TENTATIVE
    signed = client.post(url, payload, content_type="application/json", headers={"X-Anchorid-Signature": sign(payload)})
    assert signed.status_code == 200
    assert signed.json() == {"booking": booking.reference, "status": "confirmed"}
