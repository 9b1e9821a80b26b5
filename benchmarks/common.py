"""Helpers shared by the benchmark scripts: machine facts, medians, openssl's own figures, reporting."""

from __future__ import annotations

import datetime
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from anchorid.common.ports import free_port as free_port  # the benchmarks take it from here

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
# jlis's CA keys open with this passphrase only (no fallback; anchorid serve jlis refuses to start without it):
# every jlis command and server a benchmark runs inherits it.
os.environ.setdefault("ANCHORID_JLIS_CA_PASSPHRASE", "benchmark jlis CA passphrase")


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, {platform.system()}"


def today() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def median_rate(run: Callable[[], int], repeats: int) -> tuple[float, list[float]]:
    """Run ``run`` (which returns how many operations it did) ``repeats`` times; median ops/s and all rates."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        count = run()
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates), rates


def openssl_rsa2048(seconds: int = 3) -> tuple[float, float]:
    """``openssl speed rsa2048`` on one core: (sign/s, verify/s)."""
    out = subprocess.run(
        ["openssl", "speed", "-seconds", str(seconds), "rsa2048"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"^rsa 2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", out, re.MULTILINE)
    if not match:
        raise RuntimeError(f"cannot read openssl speed output:\n{out}")
    return float(match.group(1)), float(match.group(2))


def wait_for_port(port: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


@contextmanager
def server(args: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server process for the length of a block, killing it afterwards."""
    proc = subprocess.Popen(args, env={**os.environ, **(env or {})}, cwd=REPO)
    try:
        wait_for_port(port)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
