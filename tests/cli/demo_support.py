"""``anchorid demo`` as a real process for the CLI tests: started in a session of its own (as a terminal starts a
foreground job), its output read until the guide is printed, and its process tree and ports observed from /proc."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from anchorid.common.ports import free_ports
from anchorid.common.serve import PARTIES

GUIDE_END = "Stop with Ctrl-C"
#: How long a demo may take to seed every party and print its guide before a test calls it hung (a new data folder,
#: on a CI machine running other suites beside it). A hang detector, not a performance bound: on a 2-core AMD EPYC
#: machine running both CI lanes, a fresh demo (seven parties seeded, about forty setup commands) took over 420 s.
START_TIMEOUT_SECONDS = 900
PARTY_COUNT = len(PARTIES)  # the demo serves each party on its own port, in a row from the first


def free_base_port() -> int:
    """A first port with the following ones free too (the demo's parties use one port each, in a row)."""
    return free_ports(PARTY_COUNT)


def answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _parent_and_state(pid: int) -> tuple[int, str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0]


def descendants(root: int) -> set[int]:
    """Every living process below ``root`` (children, grandchildren …)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _parent_and_state(int(entry))) is not None:
            children.setdefault(found[0], []).append(int(entry))
    seen: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet has ended: it holds no port and runs nothing)."""
    found = _parent_and_state(pid)
    return found is not None and found[1] != "Z"


@dataclass
class RunningDemo:
    process: subprocess.Popen[str]
    base_port: int
    data: Path
    output: list[str] = field(default_factory=list)
    children: set[int] = field(default_factory=set)

    @property
    def ports(self) -> list[int]:
        return list(range(self.base_port, self.base_port + PARTY_COUNT))

    @property
    def text(self) -> str:
        return "".join(self.output)


def start_demo(
    data: Path, *, base: int | None = None, residents: int = 3, timeout: float = START_TIMEOUT_SECONDS
) -> RunningDemo:
    """Start ``anchorid demo`` (not ``--once``) and return once its guide is printed. A data folder keeps the ports
    it was first started with (the parties are registered with each other's origins): pass the same ``base``."""
    base = base or free_base_port()
    # unbuffered: a demo that does not print its guide in time shows how far it got
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "anchorid.cli", "demo", "--data", str(data), "--port", str(base),
         "--residents", str(residents)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )  # fmt: skip
    demo = RunningDemo(process, base, data)
    printed = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            demo.output.append(line)
            if line.startswith(GUIDE_END):
                printed.set()
        printed.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not printed.wait(1):
        if time.monotonic() > deadline:
            stop_group(demo)
            raise AssertionError(f"the demo printed no guide in {timeout} s:\n{demo.text}")
    if process.poll() is not None:
        raise AssertionError(f"the demo exited with {process.returncode}:\n{demo.text}")
    demo.children = descendants(process.pid)
    return demo


def stop_group(demo: RunningDemo) -> None:
    """Test clean-up whatever happened: kill everything the demo started (its session and every party's)."""
    for pid in demo.children | descendants(demo.process.pid) | {demo.process.pid}:
        for kill in (os.killpg, os.kill):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(pid, 9)
    demo.process.wait(timeout=30)
