"""The delivery worker killed with SIGKILL mid-delivery: after a restart every queued SET reaches the receiver and
each is applied exactly once (the receiver dedupes resends by jti). The worker is the real command -- the
stand-alone ``anchorid idp ssf deliver``, or the whole idp, ``anchorid serve idp`` (its delivery thread), killed
with its server workers as one process group -- on its own data folder; the receiver is a slow local HTTP server
in this process.
Under ``DATABASE_URL`` the worker uses a database of its own on that PostgreSQL server (created and dropped here),
else its own SQLite file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from .conftest import PASSPHRASE
from .ssf_support import Receiver

EVENTS = 400
ISSUER = "http://127.0.0.1:9"  # the idp's issuer; no idp server is needed to deliver

SEED = """
import json, sys
from pathlib import Path
from anchorid.common.serve import prepare_party
prepare_party("idp", Path(sys.argv[1]))
from django.db import transaction
from anchorid.idp.accounts.models import Account
from anchorid.idp.oidc import clients, jwks
from anchorid.idp.oidc.models import ConsentDecision
from anchorid.idp.ssf import emit
from anchorid.idp.ssf.models import AddressForwarding, Stream
client, _ = clients.register(client_id="post-office", name="post", redirect_uris=["https://post.example/cb"],
                             profile="simple", auth_method="client_secret_basic", fetch_sector=False,
                             scopes=["openid", "address"])
Stream.objects.create(stream_id="s1", client=client, delivery_method="urn:ietf:rfc:8935", endpoint_url=sys.argv[2],
                      events_requested=["https://schemas.openid.net/secevent/caep/event-type/claims-change"])
account = Account.objects.create_user("resident-kill")
ConsentDecision.objects.create(account=account, client=client, claim="address", granted=True)
AddressForwarding.objects.create(account=account, client=client, forward=True)
with transaction.atomic():
    queued = sum(emit.emit_claims_change(account, {"address": {"formatted": f"address {n}"}}, reason="moved")
                 for n in range(int(sys.argv[3])))
assert queued == int(sys.argv[3]), queued
print(json.dumps(jwks.jwks_document()))
"""


@contextmanager
def _database() -> Iterator[str | None]:
    """A fresh PostgreSQL database for the worker when the suite runs on PostgreSQL (its URL), else None."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield None
        return
    import psycopg

    name = "anchorid_ssf_kill" + os.environ.get("ANCHORID_TEST_DB_SUFFIX", "")
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _env(data: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(
        ANCHORID_DATA_DIR=str(data),
        ANCHORID_KEYSTORE_PASSPHRASE=PASSPHRASE,
        ANCHORID_IDP_ORIGIN=ISSUER,
        ANCHORID_SSF_ALLOW_INSECURE_HTTP="1",
        ANCHORID_SSF_ALLOW_PRIVATE_NETWORKS="1",
        ANCHORID_SSF_LEASE_SECONDS="1",
        ANCHORID_SSF_RETRY_BASE="0.1",
        ANCHORID_SSF_RETRY_MAX="0.5",
    )
    return env


def _deliver(data: Path, env: dict[str, str], how: str = "deliver") -> subprocess.Popen[bytes]:
    if how == "serve":
        from support.jlis_server import free_port

        command = ["serve", "idp", "--port", str(free_port()), "--data", str(data)]
    else:
        command = ["idp", "ssf", "deliver", "--data", str(data), "--threads", "2"]
    return subprocess.Popen(
        [sys.executable, "-m", "anchorid.cli", *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: SIGKILL takes the server's workers with it
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _wait(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
@pytest.mark.parametrize("how", ["deliver", "serve"])
def test_it_delivers_every_set_exactly_once_in_effect_after_sigkill(tmp_path: Path, how: str) -> None:
    receiver = Receiver(audience="post-office", jwks={"keys": []}, issuer=ISSUER, delay=0.01)
    receiver.start()
    try:
        with _database() as database_url:
            _kill_and_restart(tmp_path / "idp", _env(tmp_path / "idp", database_url), receiver, how)
    finally:
        receiver.stop()


def _status(data: Path, env: dict[str, str]) -> dict[str, int]:
    status = subprocess.run(
        [sys.executable, "-m", "anchorid.cli", "idp", "ssf", "status", "--data", str(data)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    counts: dict[str, int] = json.loads(status.stdout)
    return counts


def _kill_and_restart(data: Path, env: dict[str, str], receiver: Receiver, how: str) -> None:
    seeded = subprocess.run(
        [sys.executable, "-c", SEED, str(data), receiver.url, str(EVENTS)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    receiver.jwks = json.loads(seeded.stdout.strip().splitlines()[-1])

    worker = _deliver(data, env, how)
    assert _wait(lambda: len(receiver.applied) >= EVENTS // 4, 60), "the worker delivered nothing"
    _kill(worker)
    at_kill = len(receiver.applied)
    assert at_kill < EVENTS, "the worker finished before it was killed: make the receiver slower"

    restarted = _deliver(data, env, how)
    try:
        assert _wait(lambda: len(receiver.applied) >= EVENTS, 120), (
            f"{len(receiver.applied)} of {EVENTS} applied after restart"
        )
        counts = _status(data, env)
        deadline = time.monotonic() + 30
        while counts.get("pending") and time.monotonic() < deadline:  # the last marks are being written
            time.sleep(0.2)
            counts = _status(data, env)
    finally:
        os.killpg(restarted.pid, signal.SIGTERM)
        restarted.wait(timeout=20)
    assert counts == {"delivered": EVENTS}
    jtis = [c["jti"] for c in receiver.applied]
    assert len(jtis) == EVENTS
    assert len(set(jtis)) == EVENTS  # each applied once; resends were answered 202 and not applied again
    event = "https://schemas.openid.net/secevent/caep/event-type/claims-change"
    addresses = [c["events"][event]["claims"]["address"]["formatted"] for c in receiver.applied]
    assert sorted(addresses, key=lambda a: int(a.split()[1])) == [f"address {n}" for n in range(EVENTS)]


def test_it_delivers_from_the_worker_thread_of_anchorid_serve_idp(tmp_path: Path) -> None:
    from support.jlis_server import free_port

    receiver = Receiver(audience="post-office", jwks={"keys": []}, issuer=ISSUER)
    receiver.start()
    try:
        with _database() as database_url:
            data = tmp_path / "idp"
            env = _env(data, database_url)
            seeded = subprocess.run(
                [sys.executable, "-c", SEED, str(data), receiver.url, "20"],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            assert seeded.returncode == 0, seeded.stderr[-2000:]
            receiver.jwks = json.loads(seeded.stdout.strip().splitlines()[-1])
            server = subprocess.Popen(
                [sys.executable, "-m", "anchorid.cli", "serve", "idp", "--port", str(free_port()), "--data", str(data)],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                assert _wait(lambda: len(receiver.applied) >= 20, 60), f"{len(receiver.applied)} of 20 applied"
            finally:
                server.terminate()
                server.wait(timeout=20)
            assert len({c["jti"] for c in receiver.applied}) == 20
    finally:
        receiver.stop()
