"""``scripts/deploy-local`` as a real process for the deployment tests, and a resident's browser pinned to instances.

The deployment runs on the PostgreSQL server of ``DATABASE_URL`` (its own databases ``test_deploy<suffix>_*``,
dropped afterwards) and on Redis (``REDIS_URL``, default database 6 of 127.0.0.1:6379), with HAProxy's test-only
pinning on: a request carrying ``X-AnchorID-Pin: idp-1,city-2`` goes to those instances, and every answer names the
instance that gave it (``X-AnchorID-Served-By``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis

from anchorid.common.ports import free_ports
from anchorid.deploy import databases
from anchorid.deploy.haproxy import PIN_HEADER, SERVED_BY_HEADER
from interop.harness import Browser

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 420
#: Small enough for a test to reach across both instances, large for everything else the tests do.
RATE_LIMITS = {"signing-verify-ip": [6, 600], "login-ip": [10000, 600], "onboarding-ip": [1000, 600]}
#: A killed instance's Shared Signals lease comes back to the survivor this fast.
SSF_LEASE_SECONDS = "5"
PORTS_USED = 14


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_base_port() -> int:
    return free_ports(PORTS_USED)


def postgres_server() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise RuntimeError("tests/deploy run on PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test")
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Deployment:
    process: subprocess.Popen[str]
    folder: Path
    prefix: str
    output: list[str] = field(default_factory=list)

    @property
    def state(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.folder / "deployment.json").read_text())
        return loaded

    @property
    def idp(self) -> str:
        return str(self.state["origins"]["idp"])

    @property
    def city(self) -> str:
        return str(self.state["origins"]["city"])

    @property
    def ca(self) -> str:
        return str(self.state["ca"])

    def pid(self, instance: str) -> int:
        return int(self.state["processes"][instance]["pid"])

    def kill(self, instance: str) -> None:
        """SIGKILL the instance's whole process group (server, Granian workers, background child): its machine died."""
        os.killpg(self.pid(instance), signal.SIGKILL)
        deadline = time.monotonic() + 20
        port = int(self.state["processes"][instance]["port"])
        while _answers(port):
            assert time.monotonic() < deadline, f"{instance} still answers after SIGKILL"
            time.sleep(0.1)

    def proxy(self, command: str) -> str:
        """One command to HAProxy's runtime API (e.g. ``disable server city/city-1``); its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(10)
            connection.connect(self.state["proxy_socket"])
            connection.sendall(command.encode() + b"\n")
            answer = b""
            while chunk := connection.recv(4096):
                answer += chunk
        return answer.decode()

    def cards(self) -> list[dict[str, Any]]:
        index = json.loads((Path(self.state["cards"]) / "INDEX.json").read_text())
        return [card for card in index["cards"] if card["has_signature_certificate"]]


def start(folder: Path) -> Deployment:
    prefix = f"test_deploy{os.environ.get('ANCHORID_TEST_DB_SUFFIX', '')}_"
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    env.update(ANCHORID_RATE_LIMITS=json.dumps(RATE_LIMITS), ANCHORID_SSF_LEASE_SECONDS=SSF_LEASE_SECONDS,
               ANCHORID_SSF_RETRY_BASE="0.5", ANCHORID_SSF_RETRY_MAX="2")  # fmt: skip
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/6")
    # The test's own Redis database: counters a run left there (their windows last minutes) must not count here.
    redis.Redis.from_url(redis_url).flushdb()
    command = [str(ROOT / "scripts" / "deploy-local"), "--dir", str(folder), "--port", str(free_base_port()),
               "--postgres", postgres_server(), "--db-prefix", prefix, "--residents", "16", "--pinning",
               "--redis", redis_url]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                               start_new_session=True)  # fmt: skip
    deployment = Deployment(process, folder, prefix)
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            deployment.output.append(line)
            if line.startswith("Stop with Ctrl-C"):
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(START_TIMEOUT_SECONDS) or process.poll() is not None:
        stop(deployment)
        raise AssertionError("scripts/deploy-local did not start:\n" + "".join(deployment.output))
    return deployment


def stop(deployment: Deployment) -> None:
    """Ctrl-C, as a person stops it: deploy-local exits and no port of the deployment answers any more. Then the
    test databases are dropped."""
    ports: list[int] = []
    with contextlib.suppress(OSError, ValueError, KeyError):
        ports = [int(process["port"]) for process in deployment.state["processes"].values()]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(deployment.process.pid, signal.SIGINT)
    try:
        deployment.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(deployment.process.pid, signal.SIGKILL)
        deployment.process.wait()
        raise
    finally:
        databases.drop(postgres_server(), [f"{deployment.prefix}{party}" for party in ("jlis", "idp", "city")])
    assert deployment.process.returncode == 0, "".join(deployment.output[-20:])
    assert not [port for port in ports if _answers(port)], "a process of the deployment outlived Ctrl-C"


class PinnedBrowser(Browser):
    """A resident's browser whose requests go to chosen instances (``pin("idp-1", "city-2")``), trusting the
    deployment's CA; ``served_by`` lists the instances that answered, in order."""

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(deployment.idp)
        self.http.verify = deployment.ca
        self.served_by: list[str] = []
        self.http.hooks["response"].append(self._note)

    def _note(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self.served_by.append(response.headers.get(SERVED_BY_HEADER, "?"))

    def pin(self, *instances: str) -> None:
        self.http.headers[PIN_HEADER] = ",".join(instances)
        self.served_by.clear()

    def unpin(self) -> None:
        self.http.headers.pop(PIN_HEADER, None)
        self.served_by.clear()
