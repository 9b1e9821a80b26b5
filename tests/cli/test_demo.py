"""``anchorid demo --once`` on a new data folder seeds every party and prints the guide; then the demo started
again on that folder is stopped: Ctrl-C in its terminal (SIGINT to the foreground process group) or SIGTERM to the
demo alone ends every process it started — the servers, their Granian workers, the parties' worker children — and
none of its ports answers afterwards, also while a browser holds a connection open to every party (a server's
graceful shutdown waits for it: the demo used to kill the server alone then, and its worker went on answering)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .demo_support import PARTY_COUNT, START_TIMEOUT_SECONDS, alive, answers, free_base_port, start_demo, stop_group

STOP_WITHIN_SECONDS = 40


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """One data folder and first port for the module: ``--once`` seeds it, both stops reuse the seeded parties
    (quicker), on the ports they were registered with — which each stop must have left free."""
    return tmp_path_factory.mktemp("demo"), free_base_port()


def test_it_starts_every_party_seeded_and_prints_what_to_try(demo_data: tuple[Path, int]) -> None:
    """``--once`` on a new data folder: seeds every party, checks each answers, prints the guide and stops."""
    data, base = demo_data
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "anchorid.cli",
            "demo",
            "--data",
            str(data),
            "--port",
            str(base),
            "--residents",
            "3",
            "--once",
        ],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_SECONDS,  # the same bound as every demo start of these tests
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},  # on a timeout, the output shows how far it got
    )
    assert result.returncode == 0, result.stderr
    assert "AnchorID demo is running." in result.stdout
    assert "openssl ocsp" in result.stdout
    # The city is seeded (facilities, an open lottery round, the staff login, a counter booking), the sample
    # providers and the city's departments are connected to the idp's event streams, and the move tour is printed.
    assert "facilities with" in result.stdout
    assert "lottery round open for entries" in result.stdout
    assert "city staff pages" in result.stdout
    assert "counter resident" in result.stdout
    assert result.stdout.count(": stream ") == 6
    assert "/me/moving/" in result.stdout
    assert "idp sweep" in result.stdout
    assert "providers health award-pending" in result.stdout  # the health points app's linking steps
    index = json.loads((data / "cards" / "INDEX.json").read_text())
    assert len(index["cards"]) == 3 + 2  # the residents asked for, and the household of the guardian tour
    assert "idp guardians transitions" in result.stdout
    assert "/staff/adoption/" in result.stdout
    child = next(card for card in index["cards"] if card.get("role") == "child")
    assert child["has_signature_certificate"] is False
    assert all(Path(card["card_file"]).exists() for card in index["cards"])


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_it_ends_every_child_process_and_port_when_stopped(demo_data: tuple[Path, int], how: str) -> None:
    data, base = demo_data
    demo = start_demo(data, base=base)
    try:
        children = demo.children
        assert all(answers(port) for port in demo.ports), demo.text
        # A server per party, at least one Granian worker each, the worker children of jlis, the idp and the city.
        assert len(children) >= 2 * PARTY_COUNT + 3, children
        held = [socket.create_connection(("127.0.0.1", port), timeout=5) for port in demo.ports]
        for connection in held:  # a browser's request, half sent: the server waits for the rest
            connection.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        if how == "ctrl-c":
            os.killpg(demo.process.pid, signal.SIGINT)  # what the terminal does: the whole foreground group
        else:
            demo.process.send_signal(signal.SIGTERM)
        demo.process.wait(timeout=STOP_WITHIN_SECONDS)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (
            any(alive(pid) for pid in children) or any(answers(port) for port in demo.ports)
        ):
            time.sleep(0.2)
        survivors = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in children if alive(pid)}
        assert survivors == {}, survivors
        assert [port for port in demo.ports if answers(port)] == []
        for connection in held:
            connection.close()
    finally:
        stop_group(demo)
