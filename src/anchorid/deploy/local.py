"""``scripts/deploy-local``: two instances of the idp and of the city behind HAProxy (TLS), one PostgreSQL, one Redis.

The production shape on one machine (docs/deployment.md, docs/decisions.md D25). Every instance is its own
``anchorid serve PARTY`` process group with its own port and data folder, as if on its own machine; the instances
of one party share only what a real deployment shares between machines:

- the party's PostgreSQL database (``PREFIX`` + party on the server ``--postgres``), and Redis (``REDIS_URL``,
  passed to every instance);
- its secrets, given in the environment as a secrets manager would (``shared/secrets.json``, 0600, made once):
  Django's ``ANCHORID_SECRET_KEY`` (session encryption, CSRF), and for the idp ``ANCHORID_OIDC_SECRET`` (pairwise
  ``sub``, DPoP nonces, refresh tokens), ``ANCHORID_PERSON_KEY_SECRET``, ``ANCHORID_ATTRIBUTE_KEYS`` and the key
  store's ``ANCHORID_KEYSTORE_PASSPHRASE``;
- the idp's key store: one folder (``shared/idp-keys``, ``ANCHORID_KEYSTORE_DIR``) both instances open, standing
  for the HSM of a real deployment (a key one instance creates, e.g. at a signing-key rotation, is the other's too);
- the files set-up commands write into a data folder (the idp's trust in J-LIS's CAs, the city's client key and
  registration): made once in instance 1's folder and copied to instance 2's, as configuration management would.

jlis runs once, on plain HTTP, reached by the idp directly (J-LIS's own network). HAProxy (``haproxy.py``) terminates
TLS with a certificate of a CA made at set-up (``tls.py``), sets ``X-Forwarded-For``/``X-Forwarded-Proto``, checks
every instance and routes around a dead one; the parties run with ``ANCHORID_TLS_PROXY=1`` and
``ANCHORID_TRUSTED_PROXY_HOPS=1``. ``deployment.json`` in the folder names every port, URL and process (the tests
read it). Ctrl-C (or SIGTERM) stops every process group and waits until they are gone.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from anchorid.common import config
from anchorid.demo import Party, stop_parties
from anchorid.deploy import databases, haproxy, tls

ANCHORID = [sys.executable, "-m", "anchorid.cli"]
DEFAULT_BASE_PORT = 9440
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
DEFAULT_PREFIX = "anchorid_local_"
INSTANCES = 2
#: What HAProxy and the start-up wait ask each party for (cheap, no login, 200 when the party can answer).
HEALTH_PATHS = {"jlis": "/ca/sign.cer", "idp": "/.well-known/openid-configuration", "city": "/"}
START_TIMEOUT_SECONDS = 120.0
STATE_FILE = "deployment.json"
#: HAProxy's runtime API (take an instance out of rotation and back), in the deployment's folder.
PROXY_SOCKET = "haproxy.sock"
PROVISIONED_MARKER = ".provisioned"
EVENTS_MARKER = ".events-connected"
#: What ``anchorid city connect-events`` writes into the departments' folder (``anchorid.ssf_receiver.setup``).
RECEIVER_FILE = "ssf-receiver.json"


@dataclass
class Topology:
    """Where everything is: ports from ``base_port`` (public HTTPS ports first, then jlis, then the instances)."""

    folder: Path
    base_port: int
    postgres: str
    prefix: str
    redis_url: str
    pinning: bool = False
    parties: list[Party] = field(default_factory=list)

    @property
    def public_ports(self) -> dict[str, int]:
        return {"idp": self.base_port, "city": self.base_port + 1}

    @property
    def jlis_port(self) -> int:
        return self.base_port + 2

    def instance_port(self, party: str, number: int) -> int:
        return self.base_port + 10 + (0 if party == "idp" else INSTANCES) + number - 1

    def origin(self, party: str) -> str:
        return f"https://localhost:{self.public_ports[party]}"

    def database(self, party: str) -> str:
        return databases.database_url(self.postgres, f"{self.prefix}{party}")

    @property
    def shared(self) -> Path:
        return self.folder / "shared"

    @property
    def tls(self) -> Path:
        return self.folder / "tls"

    @property
    def cards(self) -> Path:
        return self.folder / "cards"


def _secrets(topology: Topology) -> dict[str, str]:
    """The deployment's secrets, made once (``shared/secrets.json``, 0600): what a secrets manager holds."""
    from cryptography.fernet import Fernet

    path = topology.shared / "secrets.json"
    if path.exists():
        loaded: dict[str, str] = json.loads(path.read_text())
        return loaded
    made = {
        "jlis_secret_key": secrets.token_urlsafe(50),
        "idp_secret_key": secrets.token_urlsafe(50),
        "city_secret_key": secrets.token_urlsafe(50),
        "keystore_passphrase": secrets.token_urlsafe(24),
        "jlis_ca_passphrase": secrets.token_urlsafe(24),
        "oidc_secret": secrets.token_hex(32),
        "person_key_secret": secrets.token_hex(32),
        "attribute_keys": Fernet.generate_key().decode(),
    }
    topology.shared.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(json.dumps(made))
    return made


def _base_env(topology: Topology) -> dict[str, str]:
    """What every process of the deployment runs with: the caller's environment (``REDIS_URL``,
    ``ANCHORID_RATELIMIT_CACHE``, ``ANCHORID_RATE_LIMITS``… pass through), the local CA trusted for the parties'
    calls to each other, and Redis."""
    env = {name: value for name, value in os.environ.items() if name not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    ca = str(topology.tls / "ca.pem")
    env.update(REQUESTS_CA_BUNDLE=ca, SSL_CERT_FILE=ca, REDIS_URL=topology.redis_url)
    return env


def party_env(topology: Topology, party: str) -> dict[str, str]:
    """One party's settings (every instance of the party gets the same)."""
    made = _secrets(topology)
    env = {**_base_env(topology), "DATABASE_URL": topology.database(party)}
    if party == "jlis":
        return env | {
            "ANCHORID_SECRET_KEY": made["jlis_secret_key"],
            "ANCHORID_JLIS_CA_PASSPHRASE": made["jlis_ca_passphrase"],
            "ANCHORID_JLIS_ORIGIN": f"http://127.0.0.1:{topology.jlis_port}",
        }
    # Behind the proxy: TLS ends there, and it sets X-Forwarded-For (one hop). 127.0.0.1: the instances' own port.
    env |= {"ANCHORID_TLS_PROXY": "1", "ANCHORID_TRUSTED_PROXY_HOPS": "1"}
    env["ANCHORID_ALLOWED_HOSTS"] = "localhost,127.0.0.1"
    if party == "city":
        return env | {"ANCHORID_SECRET_KEY": made["city_secret_key"], "ANCHORID_CITY_ORIGIN": topology.origin("city")}
    return env | {
        "ANCHORID_SECRET_KEY": made["idp_secret_key"],
        "ANCHORID_KEYSTORE_DIR": str(topology.shared / "idp-keys"),
        "ANCHORID_KEYSTORE_PASSPHRASE": made["keystore_passphrase"],
        "ANCHORID_OIDC_SECRET": made["oidc_secret"],
        "ANCHORID_PERSON_KEY_SECRET": made["person_key_secret"],
        "ANCHORID_ATTRIBUTE_KEYS": made["attribute_keys"],
        "ANCHORID_IDP_ORIGIN": topology.origin("idp"),
        "ANCHORID_JLIS_URL": f"http://127.0.0.1:{topology.jlis_port}",
        # The receivers of Shared Signals in a local deployment are on this machine.
        "ANCHORID_SSF_PUSH_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }


def _run(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([*ANCHORID, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"anchorid {' '.join(args[:2])} failed:\n{done.stderr.strip()}")
    return done.stdout


def _end_with_parent() -> None:
    """In an instance's process, before it runs: SIGTERM when deploy-local dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _start(topology: Topology, party: Party, command: list[str]) -> None:
    """Start ``command`` in a process group of its own (an instance's server, Granian workers, background child)."""
    if not _port_free(party.port):
        raise SystemExit(f"port {party.port} for {party.name} is taken; choose other ports with --port")
    logs = topology.folder / "logs"
    logs.mkdir(exist_ok=True)
    with (logs / f"{party.name}.log").open("ab") as log:
        party.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=party.env,
                                         start_new_session=True, preexec_fn=_end_with_parent)  # fmt: skip
    topology.parties.append(party)


def _start_instance(topology: Topology, party: Party, kind: str) -> None:
    _start(topology, party, [*ANCHORID, "serve", kind, "--port", str(party.port), "--data", str(party.data)])
    _wait_until_answering(party, f"http://127.0.0.1:{party.port}{party.health_path}", None)


def _wait_until_answering(party: Party, url: str, context: ssl.SSLContext | None) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    last = ""
    while time.monotonic() < deadline:
        if party.process is not None and party.process.poll() is not None:
            raise SystemExit(f"{party.name} exited with code {party.process.returncode}; see its log in logs/")
        try:
            with urllib.request.urlopen(url, timeout=5, context=context) as response:  # noqa: S310 (our URL)
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError) as error:
            last = str(error)
        time.sleep(0.3)
    raise SystemExit(f"{party.name} did not answer at {url}: {last}")


def _copy_provisioned(source: Path, target: Path) -> None:
    """Instance 2 gets what the set-up commands wrote into instance 1's data folder (not its generated files)."""
    if target.exists():
        return
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("static", "*.sqlite3*", "*.log"))


def provision(topology: Topology, jlis: Party, residents: int) -> None:
    """First start of a folder: empty databases, residents and cards at jlis, the idp registered there as platform
    operator with its CA and TSA, the city registered at the idp with its facilities."""
    databases.recreate(topology.postgres, [f"{topology.prefix}{party}" for party in ("jlis", "idp", "city")])
    idp_env, city_env = party_env(topology, "idp"), party_env(topology, "city")
    print(f"deploy-local: seeding J-LIS with {residents} synthetic residents and their virtual cards …", flush=True)
    _run("jlis", "seed", "--data", str(jlis.data), "--residents", str(residents), "--cards-dir",
         str(topology.cards), env=jlis.env)  # fmt: skip
    _start_instance(topology, jlis, "jlis")
    first_idp, first_city = topology.folder / "idp-1", topology.folder / "city-1"
    first_idp.mkdir(mode=0o700, parents=True, exist_ok=True)
    jwk = topology.shared / "jlis-operator.jwk.json"
    _run("idp", "jlis-setup", "--data", str(first_idp), "--jlis", f"http://127.0.0.1:{topology.jlis_port}",
         "--jwk-out", str(jwk), env=idp_env)  # fmt: skip
    _run("jlis", "operator", "add", "--data", str(jlis.data), "--name", "anchorid-idp", "--jwk", str(jwk),
         env=jlis.env)  # fmt: skip
    _run("idp", "ca", "init", "--data", str(first_idp), "--url", topology.origin("idp"), env=idp_env)
    _run("idp", "tsa", "init", "--data", str(first_idp), env=idp_env)
    _run("city", "setup", "--data", str(first_city), "--idp", topology.origin("idp"), "--origin",
         topology.origin("city"), "--idp-data", str(first_idp), env=idp_env)  # fmt: skip
    # The city's departments: a relying party that receives Shared Signals (their stream is made once the idp runs).
    _run("city", "departments-setup", "--data", str(first_city), "--idp", topology.origin("idp"), "--origin",
         topology.origin("city"), "--idp-data", str(first_idp), env=idp_env)  # fmt: skip
    seeded = subprocess.run(
        [sys.executable, "-m", "django", "seed_facilities"],
        env={**city_env, "DJANGO_SETTINGS_MODULE": "anchorid.city.settings", "ANCHORID_DATA_DIR": str(first_city)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if seeded.returncode != 0:
        raise SystemExit(f"seed_facilities failed:\n{seeded.stderr.strip()}")
    for party in ("idp", "city"):
        for number in range(2, INSTANCES + 1):
            _copy_provisioned(topology.folder / f"{party}-1", topology.folder / f"{party}-{number}")
    (topology.folder / PROVISIONED_MARKER).write_text("ok\n")


def connect_events(topology: Topology) -> None:
    """Once, with everything running: the departments' push stream at the idp (``anchorid city connect-events``);
    its receiver settings (stream id, the push token) go to every city instance, as the rest of its set-up did."""
    marker = topology.folder / EVENTS_MARKER
    if marker.exists():
        return
    first = topology.folder / "city-1"
    _run("city", "connect-events", "--data", str(first), env=party_env(topology, "city"))
    receiver = first / "departments" / RECEIVER_FILE
    for number in range(2, INSTANCES + 1):
        target = topology.folder / f"city-{number}" / "departments" / RECEIVER_FILE
        shutil.copy2(receiver, target)
    marker.write_text("ok\n")


def _proxy_config(topology: Topology) -> Path:
    backends = [
        haproxy.Backend(
            party,
            topology.public_ports[party],
            HEALTH_PATHS[party],
            tuple((f"{party}-{n}", topology.instance_port(party, n)) for n in range(1, INSTANCES + 1)),
        )
        for party in ("idp", "city")
    ]
    path = topology.folder / "haproxy.cfg"
    path.write_text(haproxy.render(backends, topology.tls / "proxy.pem", topology.folder / PROXY_SOCKET,
                                   pinning=topology.pinning))  # fmt: skip
    return path


def state(topology: Topology) -> dict[str, object]:
    """``deployment.json``: what runs where (for people and for the tests)."""
    processes = {party.name: {"port": party.port, "pid": party.process.pid if party.process else None,
                              "data": str(party.data)} for party in topology.parties}  # fmt: skip
    return {
        "folder": str(topology.folder),
        "origins": {party: topology.origin(party) for party in ("idp", "city")},
        "jlis_url": f"http://127.0.0.1:{topology.jlis_port}",
        "ca": str(topology.tls / "ca.pem"),
        "cards": str(topology.cards),
        "databases": {party: topology.database(party) for party in ("jlis", "idp", "city")},
        "redis_url": topology.redis_url,
        "pin_header": haproxy.PIN_HEADER if topology.pinning else None,
        "proxy_socket": str(topology.folder / PROXY_SOCKET),
        "processes": processes,
    }


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _summary(topology: Topology) -> str:
    ca = topology.tls / "ca.pem"
    instances = ", ".join(f"{p.name} :{p.port}" for p in topology.parties if p.name not in ("jlis", "haproxy"))
    return "\n".join([
        "",
        "AnchorID local deployment is running (two instances per party behind HAProxy).",
        f"  ID platform   {topology.origin('idp')}/",
        f"  City portal   {topology.origin('city')}/",
        f"  J-LIS         http://127.0.0.1:{topology.jlis_port}/   (internal: reached by the idp only)",
        f"  instances     {instances}",
        f"  local CA      {ca}",
        f"  try           curl --cacert {ca} {topology.origin('idp')}/.well-known/openid-configuration",
        f"  PostgreSQL    {topology.database('idp').rsplit('/', 1)[0]}/{topology.prefix}{{jlis,idp,city}}",
        f"  Redis         {topology.redis_url}",
        f"  folder        {topology.folder}   (logs/, {STATE_FILE}, cards/INDEX.json)",
        "",
        "Stop with Ctrl-C (every instance and the proxy end with it).",
    ])  # fmt: skip


def _require_listening(what: str, url: str, default_port: int) -> None:
    """Refuse to start when the server ``url`` names does not accept connections (say which, and where)."""
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=5).close()
    except OSError as error:
        raise SystemExit(f"{what} at {parts.hostname}:{parts.port or default_port} does not answer ({error})") from None


def run(topology: Topology, *, residents: int, once: bool) -> int:
    if shutil.which("haproxy") is None:
        raise SystemExit("haproxy is not installed: run scripts/bootstrap --test (or apt-get install haproxy)")
    _require_listening("PostgreSQL", topology.postgres, 5432)
    _require_listening("Redis", topology.redis_url, 6379)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    topology.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    (topology.folder / STATE_FILE).unlink(missing_ok=True)
    tls.make_certificates(topology.tls)
    jlis = Party("jlis", topology.jlis_port, topology.folder / "jlis", HEALTH_PATHS["jlis"])
    jlis.env = party_env(topology, "jlis")
    try:
        if not (topology.folder / PROVISIONED_MARKER).exists():
            provision(topology, jlis, residents)
        else:
            _start_instance(topology, jlis, "jlis")
        # One instance at a time: the first migrates the party's database, the next find it migrated.
        for kind in ("idp", "city"):
            for number in range(1, INSTANCES + 1):
                name = f"{kind}-{number}"
                instance = Party(name, topology.instance_port(kind, number), topology.folder / name, HEALTH_PATHS[kind])
                instance.env = party_env(topology, kind)
                _start_instance(topology, instance, kind)
        proxy = Party("haproxy", topology.base_port, topology.folder, "", _base_env(topology))
        _start(topology, proxy, ["haproxy", "-W", "-db", "-f", str(_proxy_config(topology))])
        context = ssl.create_default_context(cafile=str(topology.tls / "ca.pem"))
        for kind in ("idp", "city"):
            _wait_until_answering(proxy, topology.origin(kind) + HEALTH_PATHS[kind], context)
        connect_events(topology)
        state_path = topology.folder / STATE_FILE
        state_path.write_text(json.dumps(state(topology), indent=2))
        print(_summary(topology), flush=True)
        if once:
            return 0
        return _watch(topology, proxy)
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop_parties(list(reversed(topology.parties)))
        (topology.folder / STATE_FILE).unlink(missing_ok=True)
        print("deploy-local stopped: every instance and the proxy have ended.", file=sys.stderr, flush=True)


def _watch(topology: Topology, proxy: Party) -> int:
    """Serve until interrupted. An instance that ends is reported (the proxy routes to the other one); the
    deployment ends only if the proxy does."""
    reported: set[str] = set()
    while proxy.process is not None and proxy.process.poll() is None:
        for party in topology.parties:
            if party.process is not None and party.process.poll() is not None and party.name not in reported:
                reported.add(party.name)
                print(f"deploy-local: {party.name} exited (code {party.process.returncode}); the proxy routes "
                      "around it", file=sys.stderr, flush=True)  # fmt: skip
        time.sleep(0.5)
    print("deploy-local: the proxy exited; see logs/haproxy.log", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/deploy-local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=".anchorid-deploy", help="the deployment's folder (made on first start)")
    parser.add_argument("--port", type=int, default=DEFAULT_BASE_PORT,
                        help="first port: idp HTTPS, city HTTPS, jlis, then the instances from PORT+10")  # fmt: skip
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES,
                        help="PostgreSQL server; its databases PREFIX{jlis,idp,city} are made at set-up")  # fmt: skip
    parser.add_argument("--db-prefix", default=DEFAULT_PREFIX, help="prefix of the deployment's database names")
    parser.add_argument(
        "--redis",
        default=config.REDIS_URL.value() or DEFAULT_REDIS,
        help="REDIS_URL given to every instance (default: $REDIS_URL or " + DEFAULT_REDIS + ")",
    )
    parser.add_argument("--residents", type=int, default=10, help="synthetic residents seeded at set-up")
    parser.add_argument("--once", action="store_true", help="start everything, check it answers, then stop")
    parser.add_argument("--pinning", action="store_true",
                        help=f"tests only: let the {haproxy.PIN_HEADER} header choose an instance")  # fmt: skip
    args = parser.parse_args(argv)
    if not args.db_prefix.replace("_", "").isalnum():
        raise SystemExit("--db-prefix may hold letters, digits and _ only")
    topology = Topology(Path(args.dir).resolve(), args.port, args.postgres, args.db_prefix, args.redis,
                        pinning=args.pinning)  # fmt: skip
    return run(topology, residents=args.residents, once=args.once)


if __name__ == "__main__":
    sys.exit(main())
