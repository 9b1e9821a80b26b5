"""Ports for the servers the demo, the tests and the benchmarks start: outside the kernel's ephemeral range, checked by
binding; and the demo's wait for a party survives an answer that is not HTTP (what a client that connected to itself
reads: its own request), as it did not in CI."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from anchorid import demo
from anchorid.common import ports


def test_it_chooses_consecutive_free_ports_outside_the_ephemeral_range() -> None:
    low, high = ports.ephemeral_range()
    for _ in range(50):
        first = ports.free_ports(11)
        assert all(not low <= port <= high for port in range(first, first + 11))
        assert all(ports.is_free(port) for port in range(first, first + 11))


def test_it_reads_the_ephemeral_range_of_this_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    narrow = tmp_path / "ip_local_port_range"
    narrow.write_text("40000\t40100\n")
    monkeypatch.setattr(ports, "EPHEMERAL_RANGE_FILE", narrow)
    assert ports.ephemeral_range() == (40000, 40100)
    assert all(not 40000 <= ports.free_port() <= 40100 for _ in range(200))
    narrow.write_text("not a range")
    assert ports.ephemeral_range() == ports.DEFAULT_EPHEMERAL_RANGE


def test_it_counts_a_listening_port_as_taken() -> None:
    port = ports.free_port()
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        assert not ports.is_free(port)
    assert ports.is_free(port)


def test_it_counts_a_port_in_time_wait_as_free() -> None:
    """A party stopped a moment ago leaves its side of closed connections in TIME_WAIT; the demo restarts on the
    same ports (its data folder keeps them), as the servers may with SO_REUSEADDR."""
    port = ports.free_port()
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server closes first: its end waits in TIME_WAIT
        client.close()
    assert ports.is_free(port)


@pytest.fixture
def echoing_port() -> Iterator[int]:
    """A port that sends every request back as it came, as a client connected to itself reads it."""
    server = socket.socket()
    server.bind(("127.0.0.1", ports.free_port()))
    server.listen()
    stopping = threading.Event()

    def echo() -> None:
        server.settimeout(0.2)
        while not stopping.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.sendall(connection.recv(4096))

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stopping.set()
    thread.join()
    server.close()


def test_it_keeps_waiting_for_a_party_whose_port_answers_with_something_else(echoing_port: int) -> None:
    party = demo.Party("providers", echoing_port, Path("unused"), "/healthz")
    with pytest.raises(SystemExit, match=r"providers did not answer at .*: BadStatusLine"):
        demo._wait_until_answering(party, timeout=1.0)
