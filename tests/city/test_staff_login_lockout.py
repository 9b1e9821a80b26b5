"""Staff login and Django admin of the city lock out password guessers (per staff ID and per address)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from support.password_logins import (
    assert_it_backs_off_for_the_day,
    assert_it_locks_a_username_out,
    assert_it_locks_an_address_out,
    attempt,
)

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _staff() -> None:
    User.objects.create_user("clerk", password=PASSWORD, is_staff=True)
    User.objects.create_superuser("chief", password=PASSWORD)


def test_it_locks_the_staff_login_after_wrong_passwords() -> None:
    assert_it_locks_a_username_out("/staff/login/", "clerk", PASSWORD)


def test_it_locks_the_staff_login_from_an_address_guessing_many_names() -> None:
    assert_it_locks_an_address_out("/staff/login/", "clerk", PASSWORD)


def test_it_locks_the_staff_login_for_the_day_after_repeated_locks(monkeypatch: pytest.MonkeyPatch) -> None:
    assert_it_backs_off_for_the_day("/staff/login/", "clerk", PASSWORD, monkeypatch)


def test_it_locks_the_admin_login_after_wrong_passwords() -> None:
    assert_it_locks_a_username_out("/admin/login/", "chief", PASSWORD)


def test_it_forgets_a_typo_after_a_successful_login() -> None:
    for _ in range(4):
        assert attempt("/staff/login/", "clerk", "typo")[0] == 200
    assert attempt("/staff/login/", "clerk", PASSWORD)[0] == 302
    for _ in range(4):
        assert attempt("/staff/login/", "clerk", "typo")[0] == 200
    assert attempt("/staff/login/", "clerk", PASSWORD)[0] == 302


def test_it_says_so_in_japanese_first() -> None:
    for _ in range(5):
        attempt("/staff/login/", "clerk", "wrong")
    response = Client().post("/staff/login/", {"username": "clerk", "password": PASSWORD})
    assert response.status_code == 429
    assert "ロック" in response.content.decode()
