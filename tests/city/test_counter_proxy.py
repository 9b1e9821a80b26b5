"""The counter ("no one left behind"): registering a resident without a smartphone (what was checked, never a
document number), booking and entering on their behalf (recorded with who and when), and the one-time link code
that shows all of it to the resident once they log in with AnchorID."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.utils import timezone, translation

from anchorid.city.booking import service as booking_service
from anchorid.city.booking.models import Booking, CityUser, Facility, Slot
from anchorid.city.lottery import service as lottery_service
from anchorid.city.lottery.models import Entry, LotteryRound
from anchorid.city.staff import counter
from anchorid.city.staff.models import CounterRegistration, LinkCode, ProxyAction

from .lottery_support import logged_in_resident, lottery_facility, make_slots, staff_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Service messages are translated when raised: read them in English whatever an earlier request activated."""
    with translation.override("en"):
        yield


EN = {"Accept-Language": "en"}


def clerk() -> User:
    return User.objects.get_or_create(username="counter-clerk", defaults={"is_staff": True})[0]


def registered(name: str = "鎌倉 ハナ") -> CityUser:
    return counter.register_resident(clerk(), display_name=name, document="drivers_licence")


def free_slot(days: int = 5) -> Slot:
    facility = Facility.objects.create(name_ja="会議室A", name_en="Room A", kind="room", capacity=12)
    starts = timezone.now() + dt.timedelta(days=days)
    return booking_service.create_slot(facility, starts, starts + dt.timedelta(hours=2), 1500)


def test_it_registers_a_resident_with_what_was_checked() -> None:
    client = staff_client()
    response = client.post("/staff/counter/", {"display_name": "鎌倉 ハナ", "document": "my_number_card",
                                               "note": "face photo compared", "is_resident": "on"})  # fmt: skip
    user = CityUser.objects.get(display_name="鎌倉 ハナ")
    assert response["Location"] == f"/staff/counter/{user.pk}/"
    assert user.sub is None
    assert user.registered_by_staff is not None
    registration = CounterRegistration.objects.get(user=user)
    assert registration.document == "my_number_card"
    assert registration.checked_by.get_username() == "clerk"
    assert ProxyAction.objects.get(user=user).kind == "registered"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"display_name": "鎌倉 ハナ", "document": "drivers_licence", "note": "licence 123456789012"},
            "document numbers",
        ),
        ({"display_name": "  ", "document": "drivers_licence"}, "required"),
        ({"display_name": "鎌倉 ハナ", "document": "library_card"}, "valid choice"),
        ({"display_name": "鎌倉 ハナ", "document": "other", "note": ""}, "Describe the document"),
    ],
)
def test_it_refuses_a_bad_registration_and_stores_nothing(values: dict[str, str], message: str) -> None:
    response = staff_client().post("/staff/counter/", values, headers=EN)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CityUser.objects.exists()
    assert not CounterRegistration.objects.exists()


def test_it_books_on_behalf_and_records_who_did_it() -> None:
    user = registered()
    slot = free_slot()
    response = staff_client().post(f"/staff/counter/{user.pk}/book/", {"slot": slot.pk})
    assert response.status_code == 302
    booking = Booking.objects.get(user=user)
    assert booking.on_behalf
    assert booking.booked_by_staff is not None
    assert booking.booked_by_staff.get_username() == "clerk"
    action = ProxyAction.objects.get(user=user, kind="booked")
    assert action.booking == booking
    assert action.staff.get_username() == "clerk"


def test_it_refuses_a_forged_slot_on_behalf() -> None:
    user = registered()
    response = staff_client().post(f"/staff/counter/{user.pk}/book/", {"slot": 987654}, headers=EN)
    assert response.status_code == 404
    assert "no such slot" in response.content.decode()
    assert not Booking.objects.exists()
    assert not ProxyAction.objects.filter(kind="booked").exists()


def test_it_refuses_a_slot_already_taken_on_behalf() -> None:
    slot = free_slot()
    booking_service.book(booking_service.user_from_claims({"sub": "someone", "resident_of": "142042"}), slot)
    user = registered()
    response = staff_client().post(f"/staff/counter/{user.pk}/book/", {"slot": slot.pk}, headers=EN)
    assert response.status_code == 409
    assert "already taken" in response.content.decode()
    assert not Booking.objects.filter(user=user).exists()


def test_it_enters_a_lottery_on_behalf() -> None:
    slots = make_slots(lottery_facility(), 2, start=timezone.now() + dt.timedelta(days=40))
    round_ = LotteryRound.objects.create(title_ja="抽選", title_en="Lottery",
                                         entries_open_at=timezone.now() - dt.timedelta(hours=1),
                                         entries_close_at=timezone.now() + dt.timedelta(days=1),
                                         confirm_by=timezone.now() + dt.timedelta(days=2))  # fmt: skip
    lottery_service.add_slots(round_, slots)
    lottery_service.commit_seed(round_)
    user = registered()
    client = staff_client()
    client.post(f"/staff/counter/{user.pk}/enter/", {"round": round_.pk, "choices": f"{slots[1].pk}, {slots[0].pk}"})
    entry = Entry.objects.get(user=user)
    assert entry.on_behalf
    assert [c.round_slot.slot_id for c in entry.choices.all()] == [slots[1].pk, slots[0].pk]
    assert ProxyAction.objects.filter(user=user, kind="lottery_entry").exists()
    forged = client.post(f"/staff/counter/{user.pk}/enter/", {"round": round_.pk, "choices": "999999"}, headers=EN)
    assert forged.status_code == 400
    assert Entry.objects.count() == 1


def test_it_needs_the_counter_permission() -> None:
    user = registered()
    client = staff_client(areas=("bookings",))
    assert client.get(f"/staff/counter/{user.pk}/").status_code == 403
    assert client.post(f"/staff/counter/{user.pk}/link-code/").status_code == 403
    assert not LinkCode.objects.exists()


def test_it_shows_a_link_code_once_and_keeps_only_its_hash() -> None:
    user = registered()
    page = staff_client().post(f"/staff/counter/{user.pk}/link-code/").content.decode()
    code = page.split('id="link-code">')[1].split("<")[0]
    assert len(code) == 14
    stored = LinkCode.objects.get(user=user)
    assert code not in stored.code_hash
    assert stored.code_hash == counter.hash_text(counter.normalise_code(code))


def test_it_links_the_registration_to_a_first_login_and_shows_the_history() -> None:
    user = registered()
    booking = counter.book_on_behalf(clerk(), user, free_slot())
    code = counter.issue_link_code(clerk(), user)
    browser = logged_in_resident({"sub": "pairwise-hana", "name": "鎌倉 ハナ", "resident_of": "142042"})
    browser.post("/counter/link/", {"code": code.lower().replace("-", " ")})
    kept = CityUser.objects.get(sub="pairwise-hana")
    assert Booking.objects.get(pk=booking.pk).user == kept
    home = browser.get("/", headers=EN).content.decode()
    assert "Done for you at the counter" in home
    assert 'data-action="booked"' in home
    assert "counter-clerk" in home
    assert booking.reference in home
    assert CounterRegistration.objects.get(user=kept).linked_at is not None
    assert not CityUser.objects.filter(sub__isnull=True).exists()


def test_it_merges_into_the_user_the_city_already_knows() -> None:
    user = registered()
    booking = counter.book_on_behalf(clerk(), user, free_slot())
    code = counter.issue_link_code(clerk(), user)
    browser = logged_in_resident({"sub": "pairwise-known", "name": "鎌倉 ハナ", "resident_of": "142042"})
    browser.get("/")  # the first visit registers the login as a city user
    known = CityUser.objects.get(sub="pairwise-known")
    browser.post("/counter/link/", {"code": code})
    assert Booking.objects.get(pk=booking.pk).user == known
    assert CounterRegistration.objects.get().user == known
    assert ProxyAction.objects.filter(user=known, kind="booked").exists()
    assert not CityUser.objects.filter(pk=user.pk).exists()


@pytest.mark.parametrize("problem", ["wrong", "used", "expired", "replaced"])
def test_it_refuses_a_bad_link_code_and_changes_nothing(problem: str) -> None:
    user = registered()
    code = counter.issue_link_code(clerk(), user)
    if problem == "wrong":
        code = "ABCD-EFGH-JKMN"
    elif problem == "used":
        counter.link_account(code, "pairwise-first")
    elif problem == "expired":
        LinkCode.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    else:
        counter.issue_link_code(clerk(), user)
    before = list(CityUser.objects.order_by("pk").values_list("pk", "sub"))
    browser = logged_in_resident({"sub": "pairwise-attacker", "name": "Other", "resident_of": "142042"})
    response = browser.post("/counter/link/", {"code": code}, follow=True, headers=EN)
    assert "link code is not valid" in response.content.decode()
    after = list(CityUser.objects.exclude(sub="pairwise-attacker").order_by("pk").values_list("pk", "sub"))
    assert after == before


def test_it_asks_for_a_login_before_linking() -> None:
    user = registered()
    code = counter.issue_link_code(clerk(), user)
    from django.test import Client

    Client().post("/counter/link/", {"code": code})
    assert CityUser.objects.get(pk=user.pk).sub is None
    assert LinkCode.objects.get().used_at is None


def test_it_stops_guessing_after_ten_wrong_codes() -> None:
    user = registered()
    code = counter.issue_link_code(clerk(), user)
    browser = logged_in_resident({"sub": "pairwise-guesser", "name": "Guesser", "resident_of": "142042"})
    for _ in range(10):
        browser.post("/counter/link/", {"code": "AAAA-AAAA-AAAA"})
    response = browser.post("/counter/link/", {"code": code}, follow=True, headers=EN)
    assert "Too many wrong codes" in response.content.decode()
    assert CityUser.objects.get(pk=user.pk).sub is None


def test_it_refuses_linking_beyond_the_entry_cap_of_an_open_round() -> None:
    slots = make_slots(lottery_facility(), 2, start=timezone.now() + dt.timedelta(days=40))
    round_ = LotteryRound.objects.create(title_ja="抽選", title_en="Lottery", max_entries_per_user=1,
                                         entries_open_at=timezone.now() - dt.timedelta(hours=1),
                                         entries_close_at=timezone.now() + dt.timedelta(days=1),
                                         confirm_by=timezone.now() + dt.timedelta(days=2))  # fmt: skip
    lottery_service.add_slots(round_, slots)
    lottery_service.commit_seed(round_)
    user = registered()
    counter.enter_on_behalf(clerk(), user, round_, [slots[0].pk])
    online = booking_service.user_from_claims({"sub": "pairwise-twice", "resident_of": "142042"})
    lottery_service.enter(round_, online, [slots[1].pk])
    code = counter.issue_link_code(clerk(), user)
    with pytest.raises(counter.CounterError, match="exceed"):
        counter.link_account(code, "pairwise-twice")
    assert LinkCode.objects.get().used_at is None
    assert Entry.objects.filter(user=user).count() == 1


def test_it_cancels_on_behalf_and_records_it() -> None:
    user = registered()
    booking = counter.book_on_behalf(clerk(), user, free_slot(days=20))
    client = staff_client()
    client.post(f"/staff/counter/{user.pk}/bookings/{booking.reference}/cancel/")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert ProxyAction.objects.filter(user=user, kind="cancelled", booking=booking).exists()
    again = client.post(f"/staff/counter/{user.pk}/bookings/{booking.reference}/cancel/", follow=True, headers=EN)
    assert "can no longer be cancelled" in again.content.decode()
    assert ProxyAction.objects.filter(kind="cancelled").count() == 1


def test_it_cancels_only_the_residents_own_booking() -> None:
    user = registered()
    other = booking_service.book(booking_service.user_from_claims({"sub": "other", "resident_of": "142042"}),
                                 free_slot())  # fmt: skip
    response = staff_client().post(f"/staff/counter/{user.pk}/bookings/{other.reference}/cancel/")
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status != Booking.Status.CANCELLED


def test_it_takes_a_lottery_win_on_behalf() -> None:
    slots = make_slots(lottery_facility(), 1, start=timezone.now() + dt.timedelta(days=40))
    round_ = LotteryRound.objects.create(title_ja="抽選", title_en="Lottery",
                                         entries_open_at=timezone.now() - dt.timedelta(hours=1),
                                         entries_close_at=timezone.now() + dt.timedelta(days=1),
                                         confirm_by=timezone.now() + dt.timedelta(days=2))  # fmt: skip
    lottery_service.add_slots(round_, slots)
    lottery_service.commit_seed(round_)
    user = registered()
    entry = counter.enter_on_behalf(clerk(), user, round_, [slots[0].pk])
    later = timezone.now() + dt.timedelta(days=1, minutes=1)
    lottery_service.close_entries(round_, now=later)
    lottery_service.run_draw(round_, now=later)
    staff_client().post(f"/staff/counter/{user.pk}/entries/{entry.public_id}/confirm/")
    entry.refresh_from_db()
    assert entry.booking is not None
    assert entry.booking.status == Booking.Status.TENTATIVE
    assert ProxyAction.objects.filter(user=user, kind="lottery_confirmed").exists()


def test_it_gives_merged_entries_one_participant_so_the_win_cap_holds() -> None:
    slots = make_slots(lottery_facility(), 2, start=timezone.now() + dt.timedelta(days=40))
    round_ = LotteryRound.objects.create(title_ja="抽選", title_en="Lottery", max_entries_per_user=2,
                                         max_wins_per_user=1,
                                         entries_open_at=timezone.now() - dt.timedelta(hours=1),
                                         entries_close_at=timezone.now() + dt.timedelta(days=1),
                                         confirm_by=timezone.now() + dt.timedelta(days=2))  # fmt: skip
    lottery_service.add_slots(round_, slots)
    lottery_service.commit_seed(round_)
    user = registered()
    counter.enter_on_behalf(clerk(), user, round_, [slots[0].pk])
    online = booking_service.user_from_claims({"sub": "pairwise-both", "resident_of": "142042"})
    lottery_service.enter(round_, online, [slots[1].pk])
    counter.link_account(counter.issue_link_code(clerk(), user), "pairwise-both")
    assert Entry.objects.filter(user=online).values("participant").distinct().count() == 1
    later = timezone.now() + dt.timedelta(days=1, minutes=1)
    lottery_service.close_entries(round_, now=later)
    lottery_service.run_draw(round_, now=later)
    assert Booking.objects.filter(user=online).count() == 1
