"""Payment at the counter ("no one left behind"): a clerk with the money-handling permission records the fee of a
counter booking as received in cash or by card; the booking is confirmed with a numbered, printable receipt, the
resident sees it on their home page once they log in, refunds follow the tiers and wait to be paid out at the
counter, and reports say how each booking was paid. Bad input stores nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import threading
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.utils import timezone, translation

from anchorid.city.booking import rules
from anchorid.city.booking import service as booking_service
from anchorid.city.booking.errors import PaymentFailed
from anchorid.city.booking.models import Booking, CityUser, Facility, Payment, Receipt, Refund, Slot
from anchorid.city.booking.payments import SimulatedProvider, decode_payload, provider
from anchorid.city.staff import counter, counter_payment, counter_payment_demo
from anchorid.city.staff.cli import AREAS, create_staff
from anchorid.city.staff.models import CounterCharge, CounterPayout, ProxyAction

from .lottery_support import logged_in_resident

pytestmark = pytest.mark.django_db

EN = {"Accept-Language": "en"}
JA = {"Accept-Language": "ja"}
MONEY = ("counter", "counter_payment")
FEE = 1500


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def account(username: str, areas: tuple[str, ...] = MONEY) -> User:
    staff = User.objects.create_user(username, password="correct horse battery", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="staff", codename__in=areas))
    return User.objects.get(pk=staff.pk)  # fresh: no cached permissions


def browser(staff: User, *, enforce_csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf)
    client.force_login(staff)
    return client


def cashier() -> User:
    return User.objects.filter(username="cashier").first() or account("cashier")


def registered(name: str = "鎌倉 ハナ") -> CityUser:
    return counter.register_resident(cashier(), display_name=name, document="drivers_licence")


def slot(days: int = 10, fee: int = FEE, name: str = "Room A") -> Slot:
    facility = Facility.objects.create(name_ja="会議室A", name_en=name, kind="room", capacity=12)
    day = timezone.now().astimezone(rules.JST).date() + dt.timedelta(days=days)
    starts = dt.datetime.combine(day, dt.time(10), rules.JST)
    return booking_service.create_slot(facility, starts, starts + dt.timedelta(hours=2), fee)


def counter_booking(user: CityUser | None = None, days: int = 10, fee: int = FEE) -> Booking:
    booking = counter.book_on_behalf(cashier(), user or registered(), slot(days, fee))
    assert booking.status == Booking.Status.TENTATIVE
    return booking


def key() -> str:
    return counter_payment.new_idempotency_key()


def pay_url(booking: Booking) -> str:
    return f"/staff/counter/{booking.user_id}/bookings/{booking.reference}/pay/"


def form(amount: object = FEE, method: str = "cash", idempotency_key: str | None = None) -> dict[str, object]:
    return {"amount_yen": amount, "method": method, "key": idempotency_key or key()}


def nothing_stored(booking: Booking) -> None:
    booking.refresh_from_db()
    assert booking.status in (Booking.Status.TENTATIVE, Booking.Status.EXPIRED)
    assert not Payment.objects.filter(booking=booking).exists()
    assert not Receipt.objects.filter(booking=booking).exists()
    assert not CounterCharge.objects.exists()
    assert not ProxyAction.objects.filter(kind=ProxyAction.Kind.PAID).exists()


def test_it_records_a_payment_confirms_the_booking_and_prints_a_numbered_receipt() -> None:
    booking = counter_booking()
    client = browser(cashier())
    resident_page = client.get(f"/staff/counter/{booking.user_id}/", headers=EN).content.decode()
    assert f'id="pay-{booking.reference}"' in resident_page
    assert "The fee is ¥1,500" in resident_page
    issued = re.search(r'name="key" value="([^"]+)"', resident_page)
    assert issued is not None
    response = client.post(pay_url(booking), form(FEE, "card", issued.group(1)))
    receipt = Receipt.objects.get(booking=booking)
    assert response.status_code == 302
    assert response["Location"] == f"/staff/counter/{booking.user_id}/receipts/{receipt.number}/?recorded=1"
    assert re.fullmatch(rf"R{timezone.now().astimezone(rules.JST):%Y}-\d{{6}}", receipt.number or "")
    assert receipt.amount_yen == FEE
    assert receipt.payer_name == "鎌倉 ハナ"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    payment = Payment.objects.get(booking=booking)
    assert (payment.provider, payment.status, payment.amount_yen) == ("counter", Payment.Status.CAPTURED, FEE)
    charge = CounterCharge.objects.get(provider_ref=payment.provider_ref)
    assert (charge.status, charge.method, charge.received_by) == ("captured", "card", cashier())
    action = ProxyAction.objects.get(kind=ProxyAction.Kind.PAID)
    assert (action.user_id, action.staff, action.booking_id) == (booking.user_id, cashier(), booking.pk)
    assert receipt.number in action.detail
    assert "¥1,500" in action.detail
    printable = client.get(response["Location"], headers=EN)
    text = printable.content.decode()
    assert printable.status_code == 200
    assert receipt.number in text
    assert "¥1,500" in text
    assert "Counter, card" in text
    assert "staff member cashier" in text
    assert "print" in text
    assert 'class="receipt"' in text
    assert 'class="notice notice--success no-print"' in text  # "recorded" is not printed on the receipt
    assert "Payment recorded" in text


def test_it_numbers_counter_receipts_in_the_same_series_as_online_ones() -> None:
    online = booking_service.book(
        CityUser.objects.create(sub="pairwise-online", display_name="藤沢", is_resident=True), slot(12, name="B")
    )
    created = booking_service.start_payment(online, "http://testserver/return/")
    _, payload, signature = SimulatedProvider().decide(created.provider_ref, pay=True)
    booking_service.apply_payment_event("simulated", provider().verify_callback(decode_payload(payload), signature))
    first = Receipt.objects.get(booking=online).number or ""
    booking = counter_booking()
    second = counter_payment.take_payment(cashier(), booking.user, booking, amount_yen=FEE, method="cash",
                                          idempotency_key=key(), return_url="/staff/counter/")  # fmt: skip
    assert second.number is not None
    assert first.split("-")[0] == second.number.split("-")[0]
    assert int(second.number.split("-")[1]) == int(first.split("-")[1]) + 1


def test_it_records_a_form_sent_twice_once() -> None:
    booking = counter_booking()
    client = browser(cashier())
    same = form(idempotency_key=key())
    first, second = client.post(pay_url(booking), same), client.post(pay_url(booking), same)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Payment.objects.filter(booking=booking).count() == 1
    assert Receipt.objects.filter(booking=booking).count() == 1
    assert CounterCharge.objects.count() == 1
    assert ProxyAction.objects.filter(kind=ProxyAction.Kind.PAID).count() == 1


def test_it_refuses_a_second_payment_of_a_paid_booking() -> None:
    booking = counter_booking()
    client = browser(cashier())
    client.post(pay_url(booking), form())
    again = client.post(pay_url(booking), form(method="card"), headers=EN)
    assert again.status_code == 409
    assert "already paid" in again.content.decode()
    assert Payment.objects.filter(booking=booking).count() == 1
    assert CounterCharge.objects.count() == 1
    assert ProxyAction.objects.filter(kind=ProxyAction.Kind.PAID).count() == 1


def test_it_refuses_a_used_form_for_another_booking() -> None:
    resident = registered()
    paid, other = counter_booking(resident), counter_booking(resident, days=11)
    client = browser(cashier())
    used = key()
    client.post(pay_url(paid), form(idempotency_key=used))
    response = client.post(pay_url(other), form(idempotency_key=used), headers=EN)
    assert response.status_code == 409
    assert "already used" in response.content.decode()
    assert not Payment.objects.filter(booking=other).exists()
    other.refresh_from_db()
    assert other.status == Booking.Status.TENTATIVE


@pytest.mark.parametrize(
    ("amount", "status", "message"),
    [
        (FEE - 1, 400, "exactly the fee: ¥1,500"),
        (FEE + 500, 400, "exactly the fee: ¥1,500"),
        (0, 400, "exactly the fee"),
        (-FEE, 400, "exactly the fee"),
        ("1500.5", 400, "Enter a whole number"),
        ("abc", 400, "Enter a whole number"),
        ("", 400, "This field is required"),
    ],
)
def test_it_refuses_a_wrong_amount_and_stores_nothing(amount: object, status: int, message: str) -> None:
    booking = counter_booking()
    response = browser(cashier()).post(pay_url(booking), form(amount), headers=EN)
    assert response.status_code == status
    page = response.content.decode()
    assert message in page
    assert 'role="alert" id="payment-error"' in page
    nothing_stored(booking)


@pytest.mark.parametrize(
    "values",
    [
        {"amount_yen": FEE, "method": "bitcoin", "key": "k" * 22},
        {"amount_yen": FEE, "method": "cash"},
        {"amount_yen": FEE, "method": "cash", "key": "short"},
        {"amount_yen": FEE, "method": "cash", "key": "not a key at all, spaces!"},
    ],
)
def test_it_refuses_a_bad_method_or_key_and_stores_nothing(values: dict[str, object]) -> None:
    booking = counter_booking()
    response = browser(cashier()).post(pay_url(booking), values, headers=EN)
    assert response.status_code == 400
    nothing_stored(booking)


def test_it_answers_404_for_someone_elses_booking_and_stores_nothing() -> None:
    mine, theirs = registered("鎌倉 ハナ"), registered("鎌倉 タロウ")
    their_booking = counter_booking(theirs)
    online = booking_service.book(CityUser.objects.create(sub="pairwise-x", display_name="x", is_resident=True),
                                  slot(13, name="C"))  # fmt: skip
    client = browser(cashier())
    for reference in (their_booking.reference, online.reference, "BFORGED00000", "../../admin"):
        response = client.post(f"/staff/counter/{mine.pk}/bookings/{reference}/pay/", form())
        assert response.status_code == 404
    # An online resident is not a counter registration: no counter page to pay from.
    assert client.post(pay_url(online), form()).status_code == 404
    with pytest.raises(counter_payment.CounterPaymentError) as refused:
        counter_payment.take_payment(cashier(), mine, their_booking, amount_yen=FEE, method="cash",
                                     idempotency_key=key(), return_url="/staff/counter/")  # fmt: skip
    assert refused.value.status == 404
    nothing_stored(their_booking)
    assert not Payment.objects.exists()


def test_it_refuses_an_expired_booking_and_stores_nothing() -> None:
    booking = counter_booking()
    Booking.objects.filter(pk=booking.pk).update(payment_deadline=timezone.now() - dt.timedelta(minutes=1))
    response = browser(cashier()).post(pay_url(booking), form(), headers=EN)
    assert response.status_code == 409
    assert "payment deadline of this booking has passed" in response.content.decode()
    nothing_stored(booking)
    booking_service.expire_overdue()
    again = browser(cashier()).post(pay_url(booking), form(), headers=EN)
    assert again.status_code == 409
    nothing_stored(booking)
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.EXPIRED


def test_it_refuses_a_cancelled_booking_and_a_free_one() -> None:
    resident = registered()
    cancelled = counter_booking(resident)
    counter.cancel_on_behalf(cashier(), resident, cancelled)
    free = counter.book_on_behalf(cashier(), resident, slot(14, fee=0))
    assert free.status == Booking.Status.CONFIRMED
    client = browser(cashier())
    refused_cancelled = client.post(pay_url(cancelled), form(), headers=EN)
    refused_free = client.post(pay_url(free), form(0), headers=EN)
    assert refused_cancelled.status_code == refused_free.status_code == 409
    assert "cannot be paid in its current state" in refused_cancelled.content.decode()
    assert "nothing to pay" in refused_free.content.decode()
    assert not Payment.objects.exists()
    assert not CounterCharge.objects.exists()


def test_it_needs_the_money_permission() -> None:
    booking = counter_booking()
    clerk = account("clerk-no-money", ("counter",))
    client = browser(clerk)
    page = client.get(f"/staff/counter/{booking.user_id}/").content.decode()
    assert f'id="pay-{booking.reference}"' not in page
    assert client.post(pay_url(booking), form()).status_code == 403
    assert browser(account("money-only", ("counter_payment",))).post(pay_url(booking), form()).status_code == 403
    anonymous = Client().post(pay_url(booking), form())
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/staff/login/")
    with pytest.raises(counter_payment.CounterPaymentError) as refused:
        counter_payment.take_payment(clerk, booking.user, booking, amount_yen=FEE, method="cash",
                                     idempotency_key=key(), return_url="/staff/counter/")  # fmt: skip
    assert refused.value.status == 403
    nothing_stored(booking)


def test_it_needs_the_csrf_token() -> None:
    booking = counter_booking()
    response = browser(cashier(), enforce_csrf=True).post(pay_url(booking), form())
    assert response.status_code == 403
    nothing_stored(booking)


def test_it_shows_the_payment_to_the_resident_after_linking() -> None:
    booking = counter_booking()
    browser(cashier()).post(pay_url(booking), form())
    receipt = Receipt.objects.get(booking=booking)
    code = counter.issue_link_code(cashier(), booking.user)
    resident = logged_in_resident({"sub": "pairwise-hana", "name": "鎌倉 ハナ", "resident_of": "142042"})
    resident.post("/counter/link/", {"code": code})
    home = resident.get("/", headers=EN).content.decode()
    assert 'data-action="paid"' in home
    assert "Paid at the counter" in home
    assert receipt.number in home
    assert "by staff member cashier" in home
    detail = resident.get(f"/booking/bookings/{booking.reference}/", headers=EN).content.decode()
    assert 'data-status="confirmed"' in detail
    assert f"/booking/receipts/{receipt.number}/" in detail
    assert resident.get(f"/booking/receipts/{receipt.number}/").status_code == 200
    japanese = resident.get("/", headers=JA).content.decode()
    assert "窓口で支払い" in japanese


def test_it_refunds_by_the_tiers_and_records_the_payout_at_the_counter() -> None:
    resident = registered()
    early, late = counter_booking(resident, days=10), counter_booking(resident, days=3)
    client = browser(cashier())
    for booking in (early, late):
        client.post(pay_url(booking), form())
        client.post(f"/staff/counter/{resident.pk}/bookings/{booking.reference}/cancel/")
    full, half = Refund.objects.get(booking=early), Refund.objects.get(booking=late)
    assert (full.percent, full.amount_yen) == (100, FEE)
    assert (half.percent, half.amount_yen) == (50, FEE // 2)
    payouts = {payout.payout_ref: payout for payout in CounterPayout.objects.all()}
    assert set(payouts) == {full.provider_ref, half.provider_ref}
    assert all(payout.paid_out_at is None for payout in payouts.values())
    assert Payment.objects.get(booking=early).status == Payment.Status.REFUNDED
    assert Payment.objects.get(booking=late).status == Payment.Status.PARTIALLY_REFUNDED
    page = client.get(f"/staff/counter/{resident.pk}/", headers=EN).content.decode()
    assert f'data-payout="{full.provider_ref}"' in page
    assert "Handed over" in page
    done = client.post(f"/staff/counter/{resident.pk}/payouts/{full.provider_ref}/")
    assert done.status_code == 302
    paid_out = CounterPayout.objects.get(payout_ref=full.provider_ref)
    assert paid_out.paid_out_at is not None
    assert paid_out.paid_out_by == cashier()
    action = ProxyAction.objects.get(kind=ProxyAction.Kind.REFUND_PAID_OUT)
    assert action.booking_id == early.pk
    assert "¥1,500" in action.detail
    twice = client.post(f"/staff/counter/{resident.pk}/payouts/{full.provider_ref}/", headers=EN)
    assert twice.status_code == 409
    assert "already paid out" in twice.content.decode()
    assert ProxyAction.objects.filter(kind=ProxyAction.Kind.REFUND_PAID_OUT).count() == 1
    listed = client.get(f"/staff/counter/{resident.pk}/", headers=EN).content.decode()
    assert listed.index(f'data-payout="{half.provider_ref}"') < listed.index(f'data-payout="{full.provider_ref}"')
    assert "paid out" in listed
    # Someone else's payout, a forged reference, no permission: refused, nothing changes.
    other = registered("鎌倉 タロウ")
    assert client.post(f"/staff/counter/{other.pk}/payouts/{half.provider_ref}/").status_code == 404
    assert client.post(f"/staff/counter/{resident.pk}/payouts/ctr_forged/").status_code == 404
    no_money = browser(account("clerk-no-money", ("counter",)))
    assert no_money.post(f"/staff/counter/{resident.pk}/payouts/{half.provider_ref}/").status_code == 403
    assert CounterPayout.objects.get(payout_ref=half.provider_ref).paid_out_at is None
    linked = logged_in_resident({"sub": "pairwise-hana", "name": "鎌倉 ハナ", "resident_of": "142042"})
    linked.post("/counter/link/", {"code": counter.issue_link_code(cashier(), resident)})
    detail = linked.get(f"/booking/bookings/{late.reference}/", headers=EN).content.decode()
    assert "collect the refund at the city counter" in detail


def test_it_refunds_a_counter_payment_cancelled_online_at_the_counter_too() -> None:
    booking = counter_booking(days=10)
    counter_payment.take_payment(cashier(), booking.user, booking, amount_yen=FEE, method="cash",
                                 idempotency_key=key(), return_url="/staff/counter/")  # fmt: skip
    refund = booking_service.cancel(booking)  # as the resident's own "cancel" button does
    assert refund is not None
    assert refund.amount_yen == FEE
    payout = CounterPayout.objects.get(payout_ref=refund.provider_ref)
    assert payout.charge.refunded_yen == FEE
    assert payout.paid_out_at is None


def test_it_takes_no_callbacks_and_no_online_payments() -> None:
    booking = counter_booking()
    webhook = Client().post("/booking/payments/counter/callback/", b'{"provider_ref":"x"}',
                            content_type="application/json", headers={"X-Anchorid-Signature": "0" * 64})  # fmt: skip
    assert webhook.status_code == 400
    assert webhook.json() == {"error": "invalid_callback"}
    chosen = provider("counter")
    assert chosen.name == "counter"
    with pytest.raises(PaymentFailed):
        chosen.create_payment(order_ref=booking.reference, amount_yen=FEE, description="x",
                              return_url="http://testserver/booking/bookings/x/paid/")  # fmt: skip
    assert not CounterCharge.objects.exists()


def test_it_is_not_used_for_online_payments_even_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANCHORID_PAYMENT_PROVIDER", "counter")
    booking = counter_booking()
    with pytest.raises(PaymentFailed):
        booking_service.start_payment(booking, "http://testserver/booking/bookings/x/paid/")
    nothing_stored(booking)


def test_it_reports_the_payment_method_in_the_csv_and_the_report() -> None:
    cash, card = counter_booking(days=5), counter_booking(days=5)
    online = booking_service.book(CityUser.objects.create(sub="pairwise-o", display_name="o", is_resident=True),
                                  slot(5, name="Online room"))  # fmt: skip
    created = booking_service.start_payment(online, "http://testserver/return/")
    _, payload, signature = SimulatedProvider().decide(created.provider_ref, pay=True)
    booking_service.apply_payment_event("simulated", provider().verify_callback(decode_payload(payload), signature))
    unpaid = counter_booking(days=5)
    for booking, method in ((cash, "cash"), (card, "card")):
        counter_payment.take_payment(cashier(), booking.user, booking, amount_yen=FEE, method=method,
                                     idempotency_key=key(), return_url="/staff/counter/")  # fmt: skip
    counter.cancel_on_behalf(cashier(), card.user, card)  # 5 days before: 50 % to pay out
    reports_client = browser(account("reporter", ("reports",)))
    day = Slot.objects.get(pk=cash.slot_id).starts_at.astimezone(rules.JST).date().isoformat()
    exported = reports_client.get("/staff/reports/", {"date_from": day, "date_to": day, "csv": "bookings"})
    rows = list(csv.DictReader(io.StringIO(exported.content.decode().removeprefix("\ufeff"))))
    method_of = {row["reference"]: row["payment_method"] for row in rows}
    assert method_of == {cash.reference: "counter_cash", card.reference: "counter_card",
                         online.reference: "simulated", unpaid.reference: ""}  # fmt: skip
    page = reports_client.get("/staff/reports/", {"date_from": day, "date_to": day}, headers=EN).content.decode()
    assert 'id="payment-methods"' in page
    cash_row = re.search(r'<tr data-method="counter_cash"><td>Counter, cash</td><td>1</td><td>1500</td>', page)
    assert cash_row is not None
    card_row = re.search(r'data-method="counter_card"><td>Counter, card</td><td>1</td><td>1500</td><td>750</td>'
                         r"<td>750</td>", page)  # fmt: skip
    assert card_row is not None
    assert 'data-method="simulated"' in page


def test_it_speaks_japanese_at_the_counter() -> None:
    booking = counter_booking()
    client = browser(cashier())
    page = client.get(f"/staff/counter/{booking.user_id}/", headers=JA).content.decode()
    assert "窓口で受け取った支払いを記録" in page
    assert "現金" in page
    refused = client.post(pay_url(booking), form(FEE - 100), headers=JA).content.decode()
    assert "料金と同じ金額" in refused
    nothing_stored(booking)


@pytest.mark.django_db(transaction=True)
def test_it_records_one_payment_when_the_same_form_arrives_at_once() -> None:
    booking = counter_booking()
    staff, resident, same = cashier(), booking.user, key()
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    receipts: list[str] = []
    errors: list[Exception] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            barrier.wait()
            receipt = counter_payment.take_payment(staff, resident, booking, amount_yen=FEE, method="cash",
                                                   idempotency_key=same, return_url="/staff/counter/")  # fmt: skip
            with lock:
                receipts.append(receipt.number or "")
        except Exception as error:
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(receipts) == threads_count
    assert len(set(receipts)) == 1
    assert Payment.objects.filter(booking=booking).count() == 1
    assert ProxyAction.objects.filter(kind=ProxyAction.Kind.PAID).count() == 1


def test_it_seeds_the_counter_payment_demo_once() -> None:
    assert "missing" in counter_payment_demo.seed_counter_payment_demo()[0]
    create_staff("staff", "correct horse battery", AREAS)
    room = slot(days=5)
    first = counter_payment_demo.seed_counter_payment_demo("http://city.test/")
    booking = Booking.objects.get(slot=room)
    receipt = Receipt.objects.get(booking=booking)
    assert booking.status == Booking.Status.CONFIRMED
    assert booking.on_behalf
    assert first == [
        f"counter resident (booked and paid in cash at the counter): http://city.test/staff/counter/{booking.user_id}/",
        f"its receipt, to print at the counter: http://city.test/staff/counter/{booking.user_id}/receipts/"
        f"{receipt.number}/",
    ]
    assert counter_payment_demo.seed_counter_payment_demo("http://city.test/") == first
    assert Receipt.objects.count() == 1
