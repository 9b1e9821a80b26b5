"""A streaming replica serving the idp's read-only paths through the database router (anchorid.common.dbrouter,
decision D26), end to end: a PostgreSQL primary and a hot standby made from it with ``pg_basebackup -R`` on this
machine (tests/support/pg_replica.py: their own ports and folder, nothing shared with other tests), and a real
``anchorid serve idp`` with ``DATABASE_URL`` on the primary and ``DATABASE_REPLICA_URL`` on the replica.

Which server answered a query is read from the servers' own statement logs (``log_statement = 'all'``): the
replica's log shows every statement the idp sent it, the primary's every other one. Nothing about the data is made
to differ between the two (a standby cannot be written to anyway)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
import requests

from support.jlis_server import free_port, stop, wait_for
from support.pg_replica import Cluster, primary_and_replica, wait_for_replay

from .conftest import PASSPHRASE

DATABASE = "idp"
SIGNING_KEYS = '"oidc_signingkey"'
PLATFORM_CERTIFICATES = '"deviceca_platformcertificate"'
CLIENTS = '"oidc_client"'
PIN_COOKIE = "anchorid_read_primary"
SEED = """
import sys
from pathlib import Path
from anchorid.common.serve import prepare_party
prepare_party("idp", Path(sys.argv[1]))
from anchorid.idp.oidc import jwks
jwks.ensure_keys()
"""


@dataclass
class Deployment:
    url: str
    primary: Cluster
    replica: Cluster
    process: subprocess.Popen[bytes]

    def logs(self) -> tuple[int, int]:
        return self.primary.log_size(), self.replica.log_size()

    def since(self, offsets: tuple[int, int]) -> tuple[str, str]:
        """(primary's, replica's) statements for the idp's database since ``offsets``."""
        time.sleep(0.2)  # the servers write their log lines as they run the statement; let them land
        return (
            self.primary.statements_since(offsets[0], DATABASE),
            self.replica.statements_since(offsets[1], DATABASE),
        )


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with primary_and_replica() as (primary, replica):
        with primary.connect() as connection:
            connection.execute(f'CREATE DATABASE "{DATABASE}"')
        wait_for_replay(primary, replica)
        data = tmp_path_factory.mktemp("idp-with-replica")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
        env.update(
            DATABASE_URL=primary.url(DATABASE),
            DATABASE_REPLICA_URL=replica.url(DATABASE),
            ANCHORID_KEYSTORE_PASSPHRASE=PASSPHRASE,
            ANCHORID_IDP_ORIGIN=url,
            ANCHORID_INSECURE_COOKIES="1",
            ANCHORID_REPLICA_PIN_SECONDS="30",
        )
        # Migrated, with its first signing keys, before it serves: else the first JWKS request makes them (a write
        # on the primary, after which that request rightly reads from the primary too).
        subprocess.run([sys.executable, "-c", SEED, str(data)], env=env, check=True, capture_output=True)
        log = (data.parent / "idp-with-replica.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "anchorid.cli", "serve", "idp", "--port", str(port), "--data", str(data)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(f"{url}/.well-known/openid-configuration", process, "idp")
            wait_for_replay(primary, replica)  # the migrations and the first keys, made on the primary
            yield Deployment(url, primary, replica, process)
        finally:
            stop(process)
            log.close()


def test_it_reads_the_read_only_paths_from_the_replica(deployment: Deployment) -> None:
    offsets = deployment.logs()
    for path in ("/.well-known/openid-configuration", "/oidc/jwks", "/signing/trust"):
        assert requests.get(deployment.url + path, timeout=30).status_code == 200, path
    on_primary, on_replica = deployment.since(offsets)
    assert SIGNING_KEYS in on_replica  # the JWKS (through the thin dispatch)
    assert PLATFORM_CERTIFICATES in on_replica  # the trust roots (through Django's middleware)
    assert SIGNING_KEYS not in on_primary
    assert PLATFORM_CERTIFICATES not in on_primary


def test_it_reads_and_writes_everything_else_on_the_primary(deployment: Deployment) -> None:
    offsets = deployment.logs()
    # The authorization endpoint reads the client (not a read-only path); a token request from an unknown client
    # is refused and counted (a write: the client guessing limit's failure counters).
    authorize = requests.get(f"{deployment.url}/oidc/authorize?client_id=nobody&request_uri=urn:x", timeout=30)
    assert authorize.status_code < 500
    form = {"grant_type": "refresh_token", "refresh_token": "x", "client_id": "nobody"}
    token = requests.post(f"{deployment.url}/oidc/token", data=form, timeout=30)
    assert 400 <= token.status_code < 500, token.text
    on_primary, on_replica = deployment.since(offsets)
    assert CLIENTS in on_primary
    assert "INSERT" in on_primary
    assert on_replica == ""  # the replica saw nothing of either request


def test_it_keeps_a_browser_that_wrote_on_the_primary(deployment: Deployment) -> None:
    browser = requests.Session()
    page = browser.get(f"{deployment.url}/login/passkey/", timeout=30)
    assert page.status_code == 200
    csrf = next(cookie.value for cookie in browser.cookies if "csrf" in cookie.name)
    # Passkey login options: a challenge row and a session row, written on the primary.
    options = browser.post(f"{deployment.url}/login/passkey/options/", headers={"X-CSRFToken": csrf}, timeout=30)
    assert options.status_code == 200, options.text
    assert browser.cookies.get(PIN_COOKIE) == "1"  # this browser wrote: it reads from the primary for a while
    offsets = deployment.logs()
    assert browser.get(f"{deployment.url}/signing/trust", timeout=30).status_code == 200
    on_primary, on_replica = deployment.since(offsets)
    assert PLATFORM_CERTIFICATES in on_primary
    assert on_replica == ""
    # Another client, which wrote nothing, reads the same path from the replica.
    offsets = deployment.logs()
    assert requests.get(f"{deployment.url}/signing/trust", timeout=30).status_code == 200
    on_primary, on_replica = deployment.since(offsets)
    assert PLATFORM_CERTIFICATES in on_replica
    assert PLATFORM_CERTIFICATES not in on_primary


def test_it_runs_the_replica_as_a_streaming_read_only_standby(deployment: Deployment) -> None:
    """What the router relies on: the replica is in recovery, streaming from the primary, and refuses writes (a
    misrouted write could not silently land there)."""
    with deployment.replica.connect(DATABASE) as connection:
        row = connection.execute("SELECT pg_is_in_recovery()").fetchone()
        assert row is not None
        assert row[0] is True
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            connection.execute("CREATE TABLE t (x int)")
    with deployment.primary.connect() as connection:
        row = connection.execute("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'").fetchone()
        assert row is not None
        assert row[0] == 1


def test_it_reads_from_the_primary_when_the_replica_is_down(deployment: Deployment) -> None:
    deployment.replica.stop("immediate")
    offsets = deployment.logs()
    for _ in range(3):  # each of the server's threads finds its replica connection broken, or cannot open one
        response = requests.get(f"{deployment.url}/signing/trust", timeout=30)
        assert response.status_code == 200, response.text
    assert requests.get(f"{deployment.url}/.well-known/openid-configuration", timeout=30).status_code == 200
    on_primary, _ = deployment.since(offsets)
    assert PLATFORM_CERTIFICATES in on_primary
