"""The resident pages over HTTP: browse, book, pay with the simulated provider, receipt, cancel; errors come
back as pages with their status (409 "already taken", 403, 404) and store nothing."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client

from anchorid.city.booking import service
from anchorid.city.booking.models import Booking, Payment, Receipt
from anchorid.city.booking.payments import decode_payload, encode_payload

from .booking_support import facility, logged_in, outsider_claims, resident_claims, slot_in, user

pytestmark = pytest.mark.django_db
EN = {"Accept-Language": "en"}


def book(client: Client, slot_id: object) -> Booking:
    response = client.post("/booking/book/", {"slot": slot_id})
    assert response.status_code == 302, response.content.decode()
    return Booking.objects.get(reference=response["Location"].rstrip("/").rsplit("/", 1)[1])


def pay(client: Client, booking: Booking, answer: str = "pay") -> str:
    """Pay through the pages: the provider's page, its answer, the browser's return. The final page's URL."""
    to_provider = client.post(f"/booking/bookings/{booking.reference}/pay/")
    assert to_provider.status_code == 302
    assert client.get(to_provider["Location"]).status_code == 200
    back = client.post(to_provider["Location"], {"answer": answer})
    assert back.status_code == 302
    final = client.get(back["Location"])
    assert final.status_code == 302
    return str(final["Location"])


def test_it_lists_facilities_and_free_slots_without_a_login(client: Client) -> None:
    hall = facility()
    slot = slot_in(3, hall)
    assert "Community hall" in client.get("/booking/", headers=EN).content.decode()
    body = client.get(f"/booking/facilities/{hall.pk}/?week={slot.starts_at.date()}", headers=EN).content.decode()
    assert f'data-slot="{slot.pk}" data-state="free"' in body
    assert "Log in with AnchorID" in body


def test_it_asks_for_a_login_before_booking(client: Client) -> None:
    slot = slot_in(3, facility())
    response = client.post("/booking/book/", {"slot": slot.pk})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert not Booking.objects.exists()


def test_it_refuses_a_post_without_the_csrf_token() -> None:
    slot = slot_in(3, facility())
    client = logged_in(Client(enforce_csrf_checks=True), resident_claims())
    assert client.post("/booking/book/", {"slot": slot.pk}).status_code == 403
    assert not Booking.objects.exists()
    booking = service.book(user(resident_claims()), slot)
    assert client.post(f"/booking/bookings/{booking.reference}/cancel/").status_code == 403
    assert client.post(f"/booking/bookings/{booking.reference}/pay/").status_code == 403
    assert client.post("/booking/groups/", {"action": "create", "name": "Club"}).status_code == 403
    booking.refresh_from_db()
    assert booking.status == Booking.Status.TENTATIVE
    assert not Payment.objects.exists()


def test_it_books_pays_and_shows_the_receipt_and_home(client: Client) -> None:
    slot = slot_in(3, facility())
    logged_in(client, resident_claims())
    booking = book(client, slot.pk)
    assert booking.status == Booking.Status.TENTATIVE
    assert pay(client, booking) == f"/booking/bookings/{booking.reference}/"
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    receipt = Receipt.objects.get(booking=booking)
    page = client.get(f"/booking/receipts/{receipt.number}/", headers=EN).content.decode()
    assert receipt.number in page
    assert "¥6,000" in page
    home = client.get("/", headers=EN).content.decode()
    assert f'data-booking="{booking.reference}" data-status="confirmed"' in home


def test_it_tells_the_second_resident_the_slot_is_already_taken(client: Client) -> None:
    slot = slot_in(3, facility())
    book(logged_in(client, resident_claims()), slot.pk)
    other = logged_in(Client(), resident_claims("second"))
    response = other.post("/booking/book/", {"slot": slot.pk}, headers=EN)
    assert response.status_code == 409
    body = response.content.decode()
    assert 'data-code="slot_taken"' in body
    assert "already taken" in body
    assert Booking.objects.filter(slot=slot).count() == 1
    japanese = other.post("/booking/book/", {"slot": slot.pk}).content.decode()
    assert "既に予約されています" in japanese


@pytest.mark.parametrize("forged", ["999999", "abc", "", "-3"])
def test_it_answers_a_forged_slot_id_with_404(client: Client, forged: str) -> None:
    slot_in(3, facility())
    response = logged_in(client, resident_claims()).post("/booking/book/", {"slot": forged})
    assert response.status_code == 404
    assert not Booking.objects.exists()


def test_it_refuses_booking_outside_the_window(client: Client) -> None:
    slot = slot_in(45, facility())
    response = logged_in(client, outsider_claims()).post("/booking/book/", {"slot": slot.pk})
    assert response.status_code == 403
    assert 'data-code="outside_window"' in response.content.decode()
    assert not Booking.objects.exists()


def test_it_hides_other_residents_bookings_and_receipts(client: Client) -> None:
    slot = slot_in(3, facility())
    logged_in(client, resident_claims())
    booking = book(client, slot.pk)
    pay(client, booking)
    number = Receipt.objects.get().number
    stranger = logged_in(Client(), resident_claims("stranger"))
    assert stranger.get(f"/booking/bookings/{booking.reference}/").status_code == 404
    assert stranger.get(f"/booking/receipts/{number}/").status_code == 404
    assert stranger.post(f"/booking/bookings/{booking.reference}/cancel/").status_code == 404
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_it_refuses_a_tampered_return_from_the_provider(client: Client) -> None:
    slot = slot_in(3, facility())
    logged_in(client, resident_claims())
    booking = book(client, slot.pk)
    to_provider = client.post(f"/booking/bookings/{booking.reference}/pay/")
    back = client.post(to_provider["Location"], {"answer": "decline"})
    query = dict(part.split("=", 1) for part in urlsplit(back["Location"]).query.split("&"))
    payload = decode_payload(query["payload"]).replace(b'"declined"', b'"authorized"')
    tampered = f"{urlsplit(back['Location']).path}?payload={encode_payload(payload)}&signature={query['signature']}"
    response = client.get(tampered)
    assert response.status_code == 400
    booking.refresh_from_db()
    assert booking.status == Booking.Status.TENTATIVE
    assert not Payment.objects.filter(status=Payment.Status.CAPTURED).exists()


def test_it_keeps_a_declined_booking_tentative_and_lets_the_resident_cancel(client: Client) -> None:
    slot = slot_in(10, facility())
    logged_in(client, resident_claims())
    booking = book(client, slot.pk)
    pay(client, booking, answer="decline")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.TENTATIVE
    assert client.post(f"/booking/bookings/{booking.reference}/cancel/").status_code == 302
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert client.post(f"/booking/bookings/{booking.reference}/cancel/").status_code == 409


def test_it_refuses_a_second_answer_on_the_provider_page(client: Client) -> None:
    slot = slot_in(3, facility())
    logged_in(client, resident_claims())
    booking = book(client, slot.pk)
    to_provider = client.post(f"/booking/bookings/{booking.reference}/pay/")
    client.post(to_provider["Location"], {"answer": "decline"})
    assert client.post(to_provider["Location"], {"answer": "pay"}).status_code == 400
    assert client.post(to_provider["Location"], {"answer": "maybe"}).status_code == 400


def test_it_creates_and_joins_groups_through_the_pages(client: Client) -> None:
    logged_in(client, resident_claims("rep"))
    created = client.post("/booking/groups/", {"action": "create", "name": "Chess club"})
    assert created.status_code == 302
    page = client.get(created["Location"]).content.decode()
    code = page.split('id="invite-code">', 1)[1].split("<", 1)[0]
    member = logged_in(Client(), resident_claims("member"))
    joined = member.post("/booking/groups/", {"action": "join", "invite_code": code})
    assert joined["Location"] == created["Location"]
    assert 'id="invite-code"' not in member.get(joined["Location"]).content.decode()  # only the representative
    assert logged_in(Client(), resident_claims("x")).get(created["Location"]).status_code == 404
    assert member.post("/booking/groups/", {"action": "create", "name": ""}).status_code == 400


def test_it_refuses_a_genuine_callback_brought_back_to_another_booking(client: Client) -> None:
    hall = facility()
    logged_in(client, resident_claims())
    first, second = book(client, slot_in(3, hall).pk), book(client, slot_in(4, hall).pk)
    to_provider = client.post(f"/booking/bookings/{first.reference}/pay/")
    back = client.post(to_provider["Location"], {"answer": "pay"})
    swapped = back["Location"].replace(first.reference, second.reference)
    assert client.get(swapped).status_code == 400
    second.refresh_from_db()
    assert second.status == Booking.Status.TENTATIVE
    assert client.get(back["Location"]).status_code == 302  # the right booking still takes it
    first.refresh_from_db()
    assert first.status == Booking.Status.CONFIRMED
