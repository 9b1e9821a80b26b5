"""Rate limits hold across workers: ``anchorid serve jlis --workers 2`` allows exactly as many attempts from one
address as one worker does (the counters live in the party's database, shared by every worker).

The limit counted is the per-address lockout of Django admin's password login; every attempt comes on a new
connection, so the two workers share the attempts between them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from support.fixed_windows import start_clear_of_a_window_edge
from support.jlis_server import free_port, jlis_env, stop, wait_for

LIMIT = 12
WINDOW = 600


def allowed_attempts(url: str) -> int:
    """Wrong passwords (each for a different name, so only the address's limit counts) until one is answered 429."""
    page = requests.get(url + "/admin/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    cookie = f"csrftoken={page.cookies['csrftoken']}"
    for attempt in range(3 * LIMIT):
        response = requests.post(
            url + "/admin/login/",
            data={"csrfmiddlewaretoken": token.group(1), "username": f"guess-{attempt}", "password": "wrong"},
            headers={"Cookie": cookie, "Connection": "close", "Referer": url + "/admin/login/"},
            timeout=10,
        )
        if response.status_code == 429:
            return attempt  # the attempts answered before this one
        assert response.status_code == 200
    return 3 * LIMIT


@pytest.mark.parametrize("workers", [1, 2])
def test_it_allows_the_same_count_with_two_workers_as_with_one(tmp_path: Path, workers: int) -> None:
    env = jlis_env("test-ca-passphrase")
    env["ANCHORID_RATE_LIMITS"] = json.dumps({"password-login-ip": [LIMIT, WINDOW]})
    env.pop("ANCHORID_RATELIMIT_CACHE", None)
    port = free_port()
    command = [sys.executable, "-m", "anchorid.cli", "serve", "jlis", "--port", str(port), "--data", str(tmp_path)]
    server = subprocess.Popen([*command, "--workers", str(workers)], env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/admin/login/", server, "jlis")
        start_clear_of_a_window_edge(WINDOW)  # a CI run once crossed 00:40:00 and counted 8 + 12 attempts
        assert allowed_attempts(url) == LIMIT
    finally:
        stop(server)
