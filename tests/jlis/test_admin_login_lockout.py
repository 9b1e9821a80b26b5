"""jlis's staff pages (Django admin) lock out password guessers (per username and per address)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from support.password_logins import assert_it_locks_a_username_out, assert_it_locks_an_address_out

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _staff() -> None:
    User.objects.create_superuser("registrar", password=PASSWORD)


def test_it_locks_the_admin_login_after_wrong_passwords() -> None:
    assert_it_locks_a_username_out("/admin/login/", "registrar", PASSWORD)


def test_it_locks_the_admin_login_from_an_address_guessing_many_names() -> None:
    assert_it_locks_an_address_out("/admin/login/", "registrar", PASSWORD)
