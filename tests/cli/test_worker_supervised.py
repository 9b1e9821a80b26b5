"""The worker child of ``anchorid serve idp`` is supervised (issue #12 §3): killed with SIGKILL, it comes back
(a new process, a fresh heartbeat) and delivers what was written while it was dead — a Shared Signals SET pushed
to a real HTTP receiver on this machine. Stopping the server ends the child too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from .demo_support import alive, descendants, free_base_port

ANCHORID = [sys.executable, "-m", "anchorid.cli"]
STREAM_ID = "worker-test-stream"

# Runs against the served idp's data folder: a client, its push stream to the receiver, and one signed SET.
WRITE_SET = """
import sys
from pathlib import Path
from anchorid.common.serve import prepare_party
prepare_party("idp", Path(sys.argv[1]))
from anchorid.idp.oidc.models import Client
from anchorid.idp.ssf import events
from anchorid.idp.ssf.models import PUSH, OutboxEvent, Stream
client, _ = Client.objects.get_or_create(client_id="worker-test", defaults={"name": "Worker", "sector": "localhost"})
stream_id = sys.argv[4]
Stream.objects.get_or_create(client=client, defaults={"stream_id": stream_id, "delivery_method": PUSH,
                                                      "endpoint_url": sys.argv[2]})
jti, kind = sys.argv[3], "https://schemas.openid.net/secevent/ssf/event-type/verification"
payload = events.set_payload(aud="worker-test", jti=jti, txn=events.new_txn(), sub_id=None, event_type=kind,
                             event={"state": jti})
OutboxEvent.objects.create(stream_id=stream_id, txn=payload["txn"], jti=jti, event_type=kind,
                           token=events.sign_set(payload))
"""


class Receiver(ThreadingHTTPServer):
    tokens: list[bytes]


class Accept(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        assert isinstance(self.server, Receiver)
        self.server.tokens.append(body)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(("127.0.0.1", 0), Accept)
    server.tokens = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _env() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("ANCHORID_") and name not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}  # fmt: skip
    env.update(
        ANCHORID_KEYSTORE_PASSPHRASE="worker supervision test passphrase",
        ANCHORID_SSF_ALLOW_INSECURE_HTTP="1",
        ANCHORID_SSF_ALLOW_PRIVATE_NETWORKS="1",
        ANCHORID_SWEEP_INTERVAL="0",
        ANCHORID_WORKER_BEAT_SECONDS="0.5",
        ANCHORID_WORKER_STALE_SECONDS="3",
    )
    return env


def _serve(tmp_path: Path, port: int, *options: str) -> subprocess.Popen[bytes]:
    """``anchorid serve idp`` on ``tmp_path/idp``, its output in ``tmp_path/serve.log`` (a pipe nobody reads
    would fill up and stall it)."""
    with (tmp_path / "serve.log").open("ab") as log:
        command = [*ANCHORID, "serve", "idp", "--port", str(port), "--data", str(tmp_path / "idp"), *options]
        return subprocess.Popen(command, env=_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _worker_children(server: int) -> set[int]:
    """The spawned worker child (not Granian's forked workers, not multiprocessing's resource tracker)."""
    found = set()
    for pid in descendants(server):
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes() and alive(pid):
                found.add(pid)
        except OSError:
            continue
    return found


def _until(what: str, condition: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _worker_ready(port: int) -> bool:
    try:
        body = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()
    except requests.RequestException:
        return False
    return any(check["name"] == "worker" and check["status"] == "ok" for check in body["checks"])


def test_it_restarts_a_killed_worker_which_then_delivers(tmp_path: Path, receiver: Receiver) -> None:
    port, data, env = free_base_port(), tmp_path / "idp", _env()
    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}/events"
    server = _serve(tmp_path, port)
    try:
        _until("the idp's worker heartbeat", lambda: server.poll() is None and _worker_ready(port), timeout=180)
        (first,) = _worker_children(server.pid)

        def write_set(jti: str) -> None:
            subprocess.run([sys.executable, "-c", WRITE_SET, str(data), endpoint, jti, STREAM_ID], env=env, check=True,
                           capture_output=True, timeout=120)  # fmt: skip

        write_set("before-the-kill")
        _until("the first SET", lambda: any(b"." in token for token in receiver.tokens))
        assert len(receiver.tokens) == 1

        os.kill(first, signal.SIGKILL)
        _until("the killed worker to be gone", lambda: not alive(first))
        write_set("while-it-was-dead")
        second = _until("a new worker process", lambda: _worker_children(server.pid) - {first})
        assert first not in second
        _until("the SET written while the worker was dead", lambda: len(receiver.tokens) == 2)
        _until("a fresh heartbeat of the new worker", lambda: _worker_ready(port))
        assert server.poll() is None  # the server itself went on serving
    finally:
        group = descendants(server.pid) | {server.pid}
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        _until("every process of the server to end", lambda: not any(alive(pid) for pid in group), timeout=30)


def _worker_check(port: int) -> str:
    """The status of /readyz's worker check ("" while the server does not answer yet)."""
    try:
        body = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()
    except requests.RequestException:
        return ""
    return str(next(check["status"] for check in body["checks"] if check["name"] == "worker"))


def test_it_runs_the_worker_on_its_own_beside_a_server_without_one(tmp_path: Path, receiver: Receiver) -> None:
    """Production's shape: ``anchorid serve idp --no-worker`` and ``anchorid worker idp`` on the same data; the
    worker's SIGTERM stops it cleanly (exit 0, its heartbeat marked stopped: /readyz fails its worker check)."""
    port, data, env = free_base_port(), tmp_path / "idp", _env()
    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}/events"
    server = _serve(tmp_path, port, "--no-worker")
    worker: subprocess.Popen[bytes] | None = None
    try:
        _until("the idp", lambda: server.poll() is None and _worker_check(port) == "failed", timeout=180)
        assert _worker_children(server.pid) == set()
        subprocess.run([sys.executable, "-c", WRITE_SET, str(data), endpoint, "to-the-separate-worker", STREAM_ID],
                       env=env, check=True, capture_output=True, timeout=120)  # fmt: skip
        with (tmp_path / "worker.log").open("ab") as log:
            worker = subprocess.Popen([*ANCHORID, "worker", "idp", "--data", str(data)], env=env, stdout=log,
                                      stderr=subprocess.STDOUT)  # fmt: skip
        _until("the separate worker's heartbeat", lambda: _worker_check(port) == "ok")
        _until("the SET, delivered by the separate worker", lambda: len(receiver.tokens) == 1)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        assert _worker_check(port) == "failed"
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
