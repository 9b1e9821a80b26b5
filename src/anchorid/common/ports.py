"""Ports for servers started on this machine that no outgoing connection can take first.

The kernel gives outgoing connections a source port from its ephemeral range (Linux:
``/proc/sys/net/ipv4/ip_local_port_range``, 32768–60999 by default). A client that polls ``127.0.0.1:P`` before the
server there listens can, when ``P`` lies in that range, be given ``P`` itself as its source port and connect to itself
(TCP simultaneous open): it reads its own request back as the answer (``BadStatusLine: GET / HTTP/1.1``) and holds
the port, so the server then fails to bind it. Ports chosen here therefore lie outside that range, and whether a port
is free is asked by binding it, never by connecting to it.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
DEFAULT_EPHEMERAL_RANGE = (32768, 60999)
#: Below this, ports are left to well-known services someone may run here.
LOWEST = 10000
HIGHEST = 65535


def ephemeral_range() -> tuple[int, int]:
    try:
        low, high = (int(part) for part in EPHEMERAL_RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        return DEFAULT_EPHEMERAL_RANGE
    return low, high


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could bind ``port`` now: nothing listens there and no open connection holds it. A closed
    connection still waiting out TIME_WAIT does not count, as servers bind with SO_REUSEADDR (Granian does)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_ports(count: int = 1, *, attempts: int = 500) -> int:
    """The first of ``count`` consecutive free ports outside the ephemeral range, chosen at random (parallel test
    workers rarely pick the same)."""
    low, high = ephemeral_range()
    spans = [(start, end - count + 1) for start, end in ((LOWEST, low - 1), (high + 1, HIGHEST))]
    spans = [(start, last) for start, last in spans if last >= start]
    if not spans:
        raise RuntimeError(f"no room for {count} ports outside the ephemeral range {low}-{high}")
    for _ in range(attempts):
        start, last = random.choice(spans)
        first = random.randint(start, last)
        if all(is_free(port) for port in range(first, first + count)):
            return first
    raise RuntimeError(f"no {count} free ports in a row outside the ephemeral range {low}-{high}")


def free_port() -> int:
    return free_ports(1)
