"""Shared checks of the password-login lockout (anchorid.common.password_lockout) for each party's login form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from unittest import mock

import pytest
from django.test import Client

from anchorid.common import ratelimit
from anchorid.common.password_lockout import FAILURES_PER_IP, FAILURES_PER_USERNAME, FAILURES_PER_USERNAME_DAY

EN = {"Accept-Language": "en"}


def attempt(path: str, username: str, password: str, address: str = "192.0.2.10") -> tuple[int, str]:
    response = Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password}, headers=EN)
    return response.status_code, response.content.decode()


@contextmanager
def _clock_at_the_start_of_a_window() -> Iterator[None]:
    """The counters' windows are fixed: a run that crosses a window's end starts counting afresh, and the lock it
    tests never comes. The rate limits read a clock held at the start of a day (so of every shorter window too)."""
    now = 1_800_000_000.0
    now -= now % FAILURES_PER_USERNAME_DAY.window_seconds
    with mock.patch.object(ratelimit, "time", SimpleNamespace(time=lambda: now)):
        yield


def assert_it_locks_a_username_out(path: str, username: str, password: str, logged_in: int = 302) -> None:
    """Wrong passwords up to the limit, then even the right one is refused with 429 and a clear message; from
    other addresses too (the lock is on the name)."""
    with _clock_at_the_start_of_a_window():
        _assert_it_locks_a_username_out(path, username, password)


def _assert_it_locks_a_username_out(path: str, username: str, password: str) -> None:
    for number in range(FAILURES_PER_USERNAME.attempts):
        status, _ = attempt(path, username, "wrong password", address=f"198.51.100.{number + 1}")
        assert status == 200
    status, body = attempt(path, username, password, address="203.0.113.99")
    assert status == 429
    assert "locked" in body
    # how long to wait: "1 minute" near the end of the fixed window, "15 minutes" at its start
    assert re.search(r"\b\d+ minutes?\b", body), body
    status, _ = attempt(path, f" {username.upper()}", password, address="203.0.113.98")  # no new budget
    assert status == 429


def assert_it_locks_an_address_out(path: str, username: str, password: str) -> None:
    """One address trying many names is locked out, for a name it never tried too."""
    with _clock_at_the_start_of_a_window():
        _assert_it_locks_an_address_out(path, username, password)


def _assert_it_locks_an_address_out(path: str, username: str, password: str) -> None:
    for number in range(FAILURES_PER_IP.attempts):
        assert attempt(path, f"guess-{number}", "wrong password")[0] == 200
    status, body = attempt(path, username, password)
    assert status == 429
    assert "locked" in body
    assert attempt(path, username, password, address="192.0.2.200")[0] != 429  # another address is not locked


def assert_it_backs_off_for_the_day(path: str, username: str, password: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A guesser who waits out each 15-minute lock is stopped for the day after 20 failures."""
    clock = SimpleNamespace(now=1_800_000_000.0)
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: clock.now))
    clock.now -= clock.now % FAILURES_PER_USERNAME_DAY.window_seconds  # start of a day window
    rounds = FAILURES_PER_USERNAME_DAY.attempts // FAILURES_PER_USERNAME.attempts
    for _ in range(rounds):
        for number in range(FAILURES_PER_USERNAME.attempts):
            assert attempt(path, username, "wrong password", address=f"198.51.100.{number + 1}")[0] == 200
        clock.now += FAILURES_PER_USERNAME.window_seconds
    status, body = attempt(path, username, password, address="203.0.113.7")
    assert status == 429
    assert "locked" in body
