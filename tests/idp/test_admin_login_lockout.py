"""The idp's Django admin (staff accounts with a password) locks out password guessers."""

from __future__ import annotations

import pytest

from anchorid.idp.accounts.models import Account
from support.password_logins import assert_it_locks_a_username_out, assert_it_locks_an_address_out

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _staff() -> None:
    Account.objects.create_superuser("operator", password=PASSWORD)


def test_it_locks_the_admin_login_after_wrong_passwords() -> None:
    assert_it_locks_a_username_out("/admin/login/", "operator", PASSWORD)


def test_it_locks_the_admin_login_from_an_address_guessing_many_names() -> None:
    assert_it_locks_an_address_out("/admin/login/", "operator", PASSWORD)
