"""Stopping ``anchorid demo``: Ctrl-C in its terminal (SIGINT to the foreground process group) or SIGTERM to the demo
alone ends every process it started — the servers, their Granian workers, the parties' worker children — and none of
its ports answers afterwards, also while a browser holds a connection open to every party (a server's graceful
shutdown waits for it: the demo used to kill the server alone then, and its worker went on answering)."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest

from .demo_support import alive, answers, free_base_port, start_demo, stop_group

STOP_WITHIN_SECONDS = 40


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """One data folder and first port for both stops: the second start reuses the seeded parties (quicker), on the
    ports they were registered with — which the first stop must have left free."""
    return tmp_path_factory.mktemp("demo"), free_base_port()


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_it_ends_every_child_process_and_port_when_stopped(demo_data: tuple[Path, int], how: str) -> None:
    data, base = demo_data
    demo = start_demo(data, base=base)
    try:
        children = demo.children
        assert all(answers(port) for port in demo.ports), demo.text
        # Four servers, at least one Granian worker each, the worker children of jlis, the idp and the city.
        assert len(children) >= 11, children
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
