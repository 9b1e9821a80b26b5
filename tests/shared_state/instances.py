"""Two ``anchorid serve idp`` instances on one database (and one Redis), as if on two machines behind a proxy.

- With ``DATABASE_URL`` (CI's PostgreSQL pass) each instance has its own data folder and both use a database of
  their own on that server (``anchorid_shared_<store><ANCHORID_TEST_DB_SUFFIX>``), made and dropped here.
- Without it both use one data folder, so one SQLite file: two servers on one machine.

``store`` says where the short-lived shared state lives: ``redis`` (``REDIS_URL``, Redis at
``ANCHORID_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379/1``, flushed first) or ``database`` (no Redis). What
must be the same on every instance is given to both in the environment, as a deployment would: the secrets, the
key store's folder and passphrase, the issuer (the proxy's origin).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
import requests
from cryptography.fernet import Fernet
from joserfc import jws
from joserfc.jwk import ECKey

from support.jlis_server import free_port

ISSUER = "http://idp.test"  # what the proxy in front of both instances would be
PASSPHRASE = "shared state test passphrase"
REDIS_URL = os.environ.get("ANCHORID_TEST_REDIS_URL", "redis://127.0.0.1:6379/1")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
STAFF_PASSWORD = "a long staff password 7"


@dataclass
class Service:
    """A confidential FAPI client's side: its assertion key and its DPoP key."""

    client_id: str
    key: ECKey = field(default_factory=lambda: ECKey.generate_key("P-256"))
    dpop_key: ECKey = field(default_factory=lambda: ECKey.generate_key("P-256"))

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self.key.as_dict(private=False), "kid": "svc-1", "use": "sig", "alg": "ES256"}]}

    def assertion(self) -> str:
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": ISSUER, "iat": now, "exp": now + 60}
        claims["jti"] = secrets.token_urlsafe(16)
        header = {"alg": "ES256", "kid": "svc-1", "typ": "JWT"}
        return jws.serialize_compact(header, json.dumps(claims).encode(), self.key, algorithms=["ES256"])

    def proof(self, method: str, path: str, nonce: str | None, access_token: str | None = None) -> str:
        claims: dict[str, Any] = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": ISSUER + path}
        claims["iat"] = int(time.time())
        if nonce:
            claims["nonce"] = nonce
        if access_token:
            digest = hashlib.sha256(access_token.encode()).digest()
            claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.dpop_key.as_dict(private=False)}
        return jws.serialize_compact(header, json.dumps(claims).encode(), self.dpop_key, algorithms=["ES256"])

    def token(self, instance: Instance, *, assertion: str | None = None, proof: str | None = None) -> requests.Response:
        """A client_credentials request to ``instance``'s token endpoint (the SSF scopes)."""
        form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE}
        form["client_assertion"] = assertion or self.assertion()
        headers = {"DPoP": proof} if proof else {}
        return requests.post(instance.url + "/oidc/token", data=form, headers=headers, timeout=10)


@dataclass
class Instance:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Deployment:
    store: str
    env: dict[str, str]
    data: list[Path]
    a: Instance | None = None
    b: Instance | None = None
    service: Service = field(default_factory=lambda: Service("svc"))
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def cli(self, *args: str) -> str:
        """``anchorid ARGS`` against the first instance's data folder (an operator's command), its output."""
        done = subprocess.run(
            [sys.executable, "-m", "anchorid.cli", *args], env=self.instance_env(0), capture_output=True, check=False
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        return done.stdout.decode()

    def django(self, code: str) -> None:
        """Python with the idp's Django set up on the shared database (what ``django-admin shell -c`` does)."""
        env = {**self.instance_env(0), "DJANGO_SETTINGS_MODULE": "anchorid.idp.settings"}
        program = "import django\ndjango.setup()\n" + code
        done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, check=False)
        assert done.returncode == 0, done.stderr.decode()[-2000:]

    def instance_env(self, index: int) -> dict[str, str]:
        return {**self.env, "ANCHORID_DATA_DIR": str(self.data[index])}

    def start(self, index: int) -> Instance:
        port = free_port()
        log = self.data[index].parent / f"instance-{index}.log"
        command = [sys.executable, "-m", "anchorid.cli", "serve", "idp", "--port", str(port), "--workers", "1"]
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*command, "--data", str(self.data[index])],
                env=self.instance_env(index),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its Granian worker and background child are in its group: stopped together
            )
        self.processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            with suppress(requests.ConnectionError, requests.Timeout):
                if requests.get(url + "/oidc/jwks", timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"instance {index} did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        return Instance("ab"[index], url, process, log)

    def stop(self) -> None:
        for process in self.processes:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _database_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _recreate_database(base: str, name: str, *, create: bool = True) -> None:
    import psycopg  # only with DATABASE_URL (PostgreSQL's driver may be an optional extra)

    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            connection.execute(f'CREATE DATABASE "{name}"')


@contextmanager
def deployment(tmp: Path, store: str) -> Iterator[Deployment]:
    """The two instances (started), with a registered service client ``svc`` (``Deployment.service``) and the staff
    accounts ``staff-locked`` and ``staff-session`` (password ``STAFF_PASSWORD``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_URL", "ANCHORID_"))}
    env.update(
        ANCHORID_SECRET_KEY=secrets.token_urlsafe(50),
        ANCHORID_OIDC_SECRET=secrets.token_urlsafe(32),
        ANCHORID_ATTRIBUTE_KEYS=Fernet.generate_key().decode(),
        ANCHORID_PERSON_KEY_SECRET=secrets.token_hex(32),
        ANCHORID_KEYSTORE_DIR=str(tmp / "keys"),  # one key store (a shared folder, or an HSM, in production)
        ANCHORID_KEYSTORE_PASSPHRASE=PASSPHRASE,
        ANCHORID_IDP_ORIGIN=ISSUER,
        ANCHORID_INSECURE_COOKIES="1",  # plain http between the test and the instances
        # The admin lockout's 5 failures, in a day-long window: a 15-minute window's end falling between the
        # test's attempts would split their count.
        ANCHORID_RATE_LIMITS='{"password-login-username": [5, 86400]}',
    )
    base_url = os.environ.get("DATABASE_URL")
    database = f"anchorid_shared_{store}{os.environ.get('ANCHORID_TEST_DB_SUFFIX', '')}"
    if base_url:
        _recreate_database(base_url, database)
        env["DATABASE_URL"] = _database_url(base_url, database)
        data = [tmp / "machine-a", tmp / "machine-b"]
    else:
        data = [tmp / "data", tmp / "data"]
    if store == "redis":
        env["REDIS_URL"] = REDIS_URL
        redis.Redis.from_url(REDIS_URL).flushdb()
    deploy = Deployment(store, env, data)
    try:
        deploy.a = deploy.start(0)  # migrates the database first
        deploy.django(
            "from anchorid.idp.accounts.models import Account\n"
            "from anchorid.idp.oidc import clients\n"
            f"clients.register(client_id='svc', name='svc', redirect_uris=['https://svc.example/callback'], "
            f"jwks={deploy.service.jwks()!r})\n"
            f"Account.objects.create_superuser('staff-locked', {STAFF_PASSWORD!r})\n"
            f"Account.objects.create_superuser('staff-session', {STAFF_PASSWORD!r})\n"
        )
        deploy.b = deploy.start(1)
        yield deploy
    finally:
        deploy.stop()
        if base_url:
            _recreate_database(base_url, database, create=False)
        if store == "redis":
            redis.Redis.from_url(REDIS_URL).flushdb()
