"""A real jlis server for tests: seeded with ``anchorid jlis seed``, CAs exported, ``anchorid serve jlis`` on a
free port.

It runs in its own SQLite data folder even when DATABASE_URL is set, so that it never touches the PostgreSQL
database the in-process tests use. Used by the jlis suite (``live_jlis``), the idp's device-CA tests
(``jlis_server``) and the onboarding tests (``onboarding_jlis``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from anchorid.common.ports import free_port

#: Answers once the server is up (and the CAs are loaded).
READY_PATH = "/ca/sign.cer"


def wait_for(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    """Until ``url`` answers 200; RuntimeError if ``process`` exits first or 90 s pass (a loaded CI machine)."""
    deadline = time.monotonic() + 90
    while True:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or too busy starting up to answer within a second
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"the {what} server did not start")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def jlis_env(ca_passphrase: str) -> dict[str, str]:
    """This process's environment for a jlis subprocess: own SQLite, own settings, CA keys under ``ca_passphrase``."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["ANCHORID_JLIS_CA_PASSPHRASE"] = ca_passphrase
    return env


def anchorid_cli(env: dict[str, str], *args: str) -> None:
    """``anchorid ARGS...`` in a subprocess; raises if it fails."""
    subprocess.run([sys.executable, "-m", "anchorid.cli", *args], env=env, check=True, capture_output=True)


def seed_jlis(env: dict[str, str], data: Path, *, residents: int, seed: int) -> None:
    """Seed ``data`` with residents and their virtual cards (in ``data/cards``), and export the CAs to ``data/pem``."""
    cards = str(data / "cards")
    anchorid_cli(
        env,
        "jlis",
        "seed",
        "--data",
        str(data),
        "--residents",
        str(residents),
        "--cards-dir",
        cards,
        "--seed",
        str(seed),
    )
    anchorid_cli(env, "jlis", "export-ca", "--data", str(data), "--out", str(data / "pem"))


def seeded_cards(data: Path) -> list[dict[str, Any]]:
    """The seeded cards' INDEX.json entries (card_file, signature_pin, has_signature_certificate, ...)."""
    cards: list[dict[str, Any]] = json.loads((data / "cards" / "INDEX.json").read_text())["cards"]
    return cards


@contextmanager
def serve_jlis(
    data: Path, env: dict[str, str], *, port: int | None = None, log: Path | None = None, workers: int = 1
) -> Iterator[str]:
    """``anchorid serve jlis`` on ``data`` (on ``port`` or a free one, with ``workers`` Granian workers) until the
    block ends; yields its URL. Its log (stderr) goes to ``log`` when given."""
    port = port or free_port()
    command = [sys.executable, "-m", "anchorid.cli", "serve", "jlis", "--port", str(port), "--data", str(data)]
    if workers != 1:
        command += ["--workers", str(workers)]
    with open(log or os.devnull, "ab") as stderr:
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + READY_PATH, server, "jlis")
        yield url
    finally:
        stop(server)
