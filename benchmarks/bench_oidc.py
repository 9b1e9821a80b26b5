"""The OpenID Provider side by side with panva's oidc-provider, measured so that it cannot flatter the idp.

    .venv/bin/python benchmarks/bench_oidc.py [--quick] [--flows exchange-keep,exchange-rotate,login,userinfo]
        [--workers 1,2] [--clients 4,8,16] [--open-loop 0.5,0.9] [--seconds 5] [--warmup 3] [--repeats 2]

The rerun on a quiet machine (every flow, 1 v 1 and 2 v 2, closed loop past saturation, open loop at 50 % and 90 %
of oidc-provider's plateau, runs in alternating pairs; 64 runs, estimated at 12-15 minutes on a quiet 2-core
machine (a run is a provider restart, the clients' logins and a 6-s window), npm ci of oidc-provider included;
nothing else may run meanwhile; the script prints how long it took):

    .venv/bin/python benchmarks/bench_oidc.py --quick

(= ``--clients 6,16 --seconds 4 --warmup 2 --repeats 1``; without ``--quick``: 4, 8 and 16 clients, 5-s windows,
two pairs per level, 160 runs: about 35 minutes). Node.js and npm must be installed (``npm ci`` installs
oidc-provider from benchmarks/oidc-provider/package-lock.json into a temporary folder), and with ``--workers 2``
Redis at ``BENCH_REDIS_URL`` (default redis://127.0.0.1:6379/10, flushed) for the Node cluster.

Fairness settings (every one applies to both providers alike):

- Same work. Both run the same FAPI 2.0 features: PAR required, PKCE S256, private_key_jwt (ES256), DPoP-bound
  tokens (ES256) with server nonces required, ES256 ID tokens, a refresh token with every code, an ID token with
  every refresh, scope ``openid profile``. The refresh-token policy is the same on both sides and measured both
  ways: flow ``exchange-keep`` (the refresh token stays: the idp's default for confidential clients, FAPI 2.0;
  oidc-provider ``rotateRefreshToken: () => false``) and ``exchange-rotate`` (a new refresh token on every use:
  ``ANCHORID_OIDC_REFRESH_ROTATION=all``; ``rotateRefreshToken: () => true``). Logins and userinfo do not depend
  on it (they run with "keep"). tests/idp/test_bench_oidc_fairness.py reads both configurations
  (benchmarks/oidc-provider/server.mjs and the idp's discovery and settings) and checks they agree.
- Durability class, stated with every table: the idp writes to its SQLite database (WAL, synchronous=NORMAL: a
  committed grant survives a process crash), its DPoP/assertion replay records in the database too, or in Redis
  with ``--redis`` (``REDIS_URL``, db 10). oidc-provider keeps everything in process memory with ``--adapter
  memory`` (nothing survives a restart); with ``--adapter redis`` (the default when ``--workers`` includes 2,
  because cluster workers share nothing in memory) every model, replay records included, lives in Redis.
- A fresh provider process (or process group) for every run: the idp's ``anchorid serve idp`` is restarted on its
  data (the resident's session and consent are in the database), oidc-provider is restarted and the resident's
  session made again; the run waits until the new processes are idle (their start-up must not fall into the
  window). Runs alternate between the providers. Every client process logs in first (its connection open, the
  server's DPoP nonce known); the clock starts when all of them have, then ``--warmup`` seconds whose operations
  are not counted, then the counted window.
- Saturation: closed loop at each ``--clients`` level (client processes, one keep-alive connection and one request
  in flight each); the plateau is the best median across levels. Then open loop (``--open-loop``): the offered
  rate is a fraction of oidc-provider's plateau for that flow and process count, spread over ``--open-clients``
  processes on a fixed schedule; latency is measured from each request's scheduled time (no coordinated omission),
  p50 and p99 reported with the rate achieved.
- Processes: ``--workers 1,2`` runs 1 Granian worker vs 1 Node process, then 2 Granian workers vs a Node cluster
  of 2.
- The load generator is this script (Python, ES256 with cryptography, about 30 µs a signature): every run prints
  the CPU it used, in cores. A compiled generator (wrk, oha) cannot make a fresh client assertion and DPoP proof
  per request, which both providers require. Generator and servers share the machine's cores: the figures are
  floors and the ratios side by side are what to read.
- Memory: the resident set (RSS) of every idp worker and every Node process at the end of each run.

Operations: ``exchange-*`` is ``grant_type=refresh_token`` with a fresh client assertion and DPoP proof; ``login``
is PAR → authorize with the session cookie (302 with the code) → code exchange; ``userinfo`` is a ``GET`` with the
DPoP-bound access token and a proof carrying ``ath``. ``--profile FILE [--profile-operation FLOW]`` samples the idp
with py-spy (``uv`` dev dependency ``py-spy``) during one more run at the highest ``--clients`` level.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from common import REPO, free_port, machine, today, wait_for_port

sys.path.insert(0, str(REPO))
from tests.interop.harness import Browser, start_parties

OIDC_PROVIDER = REPO / "benchmarks" / "oidc-provider"
REDIRECT_URI = "http://127.0.0.1:9/callback"
SCOPE = "openid profile"
ANCHORID = "AnchorID idp"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
PY_SPY = str(Path(sys.executable).with_name("py-spy"))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int(value: int) -> str:
    return b64url(value.to_bytes(32, "big"))


class Signer:
    """ES256 compact JWS with a cryptography key: the cheapest honest way to make assertions and proofs."""

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        self.key = key
        numbers = key.public_key().public_numbers()
        self.jwk = {"kty": "EC", "crv": "P-256", "x": _int(numbers.x), "y": _int(numbers.y)}

    @classmethod
    def from_jwk(cls, jwk: dict[str, str]) -> Signer:
        d = int.from_bytes(base64.urlsafe_b64decode(jwk["d"] + "=="), "big")
        return cls(ec.derive_private_key(d, ec.SECP256R1()))

    def sign(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        head = b64url(json.dumps(header, separators=(",", ":")).encode())
        body = b64url(json.dumps(claims, separators=(",", ":")).encode())
        r, s = decode_dss_signature(self.key.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256())))
        return f"{head}.{body}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


class Client:
    """One load-generating relying party: keep-alive connection, client key, DPoP key, the server's nonce."""

    def __init__(self, setup: dict[str, Any]) -> None:
        self.setup = setup
        self.metadata = setup["metadata"]
        origin = urlsplit(setup["issuer"])
        self.connection = http.client.HTTPConnection(origin.hostname, origin.port, timeout=30)
        self.client_key = Signer.from_jwk(setup["client_jwk"])
        self.kid = setup["client_jwk"].get("kid")
        self.dpop = Signer(ec.generate_private_key(ec.SECP256R1()))
        self.nonce: str | None = None
        self.cookie = setup["cookie"]
        self.errors = 0

    def assertion(self) -> str:
        now = int(time.time())
        cid = self.setup["client_id"]
        claims = {"iss": cid, "sub": cid, "aud": self.setup["issuer"], "iat": now, "exp": now + 60,
                  "jti": secrets.token_urlsafe(16)}  # fmt: skip
        return self.client_key.sign({"alg": "ES256", "kid": self.kid}, claims)

    def proof(self, method: str, url: str, access_token: str | None = None) -> str:
        claims: dict[str, Any] = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url, "iat": int(time.time())}
        if self.nonce:
            claims["nonce"] = self.nonce
        if access_token:
            claims["ath"] = b64url(hashlib.sha256(access_token.encode()).digest())
        return self.dpop.sign({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.dpop.jwk}, claims)

    def request(self, method: str, url: str, body: str | None = None, headers: dict[str, str] | None = None) -> Any:
        path = urlsplit(url)
        target = path.path + (f"?{path.query}" if path.query else "")
        self.connection.request(method, target, body=body, headers=headers or {})
        response = self.connection.getresponse()
        data = response.read()
        return response.status, response.headers, data

    def post_signed(self, url: str, form: dict[str, str], access_token: str | None = None) -> tuple[int, Any, bytes]:
        """A form POST with client authentication and a DPoP proof; one retry when the server wants a nonce."""
        for _ in range(2):
            body = urlencode({**form, "client_id": self.setup["client_id"], "client_assertion_type": ASSERTION_TYPE,
                              "client_assertion": self.assertion()})  # fmt: skip
            headers = {"Content-Type": "application/x-www-form-urlencoded", "DPoP": self.proof("POST", url)}
            status, response_headers, data = self.request("POST", url, body, headers)
            nonce = response_headers.get("DPoP-Nonce")
            if nonce:
                self.nonce = nonce
            if status == 400 and nonce and b"use_dpop_nonce" in data:
                continue
            return status, response_headers, data
        return status, response_headers, data

    # --- the measured operations ---------------------------------------------------------------------------------

    def login(self) -> dict[str, Any] | None:
        verifier = secrets.token_urlsafe(32)
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        params = {
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": SCOPE,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
        }
        status, _, data = self.post_signed(self.metadata["pushed_authorization_request_endpoint"], params)
        if status != 201:
            return None
        request_uri = json.loads(data)["request_uri"]
        query = urlencode({"client_id": self.setup["client_id"], "request_uri": request_uri})
        status, headers, _ = self.request("GET", f"{self.metadata['authorization_endpoint']}?{query}",
                                          headers={"Cookie": self.cookie})  # fmt: skip
        location = headers.get("Location", "")
        if status not in (302, 303) or not location.startswith(REDIRECT_URI):
            return None
        code = parse_qs(urlsplit(location).query)["code"][0]
        status, _, data = self.post_signed(self.metadata["token_endpoint"], {
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier})  # fmt: skip
        if status != 200:
            return None
        tokens: dict[str, Any] = json.loads(data)
        return tokens

    def exchange(self, refresh_token: str) -> dict[str, Any] | None:
        status, _, data = self.post_signed(self.metadata["token_endpoint"],
                                           {"grant_type": "refresh_token", "refresh_token": refresh_token})  # fmt: skip
        return json.loads(data) if status == 200 else None

    def userinfo(self, access_token: str) -> bool:
        url = self.metadata["userinfo_endpoint"]
        for _ in range(2):
            headers = {"Authorization": f"DPoP {access_token}", "DPoP": self.proof("GET", url, access_token)}
            status, response_headers, _ = self.request("GET", url, headers=headers)
            if response_headers.get("DPoP-Nonce"):
                self.nonce = response_headers["DPoP-Nonce"]
            if status == 401 and "use_dpop_nonce" in response_headers.get("WWW-Authenticate", ""):
                continue
            return status == 200
        return False


FLOWS = {
    "exchange-keep": ("exchange", "keep", "token exchanges/s (refresh token kept)"),
    "exchange-rotate": ("exchange", "rotate", "token exchanges/s (refresh token rotated)"),
    "login": ("login", "keep", "full logins/s"),
    "userinfo": ("userinfo", "keep", "userinfo calls/s"),
}


def _operate(client: Client, operation: str, state: dict[str, Any]) -> bool:
    if operation == "login":
        return client.login() is not None
    if operation == "exchange":
        result = client.exchange(state["refresh_token"])
        if result and result.get("refresh_token"):
            state["refresh_token"] = result["refresh_token"]
        return result is not None
    return client.userinfo(state["access_token"])


def _worker(setup: dict[str, Any], operation: str, timing: Any, rate: float, ready: Any, out: Any) -> None:
    """One client process. It logs in first (which also opens its connection and learns the nonce), says so on
    ``ready`` and waits for ``timing`` = (warm-up start, count start, end), which the parent sets once every client
    is ready. ``rate`` 0: closed loop (next request as soon as the answer is in); else open loop at ``rate``
    requests/s on a fixed schedule, each latency measured from its scheduled time."""
    client = Client(setup)
    tokens = client.login()
    ready.put(tokens is not None)
    if tokens is None:
        out.put((0, 1, 0.0, []))
        return
    state = dict(tokens)
    while not timing[0]:
        time.sleep(0.001)
    warm, begin, end = timing[0], timing[1], timing[2]
    while time.time() < warm:
        time.sleep(0.001)
    done, errors, latencies, cpu = 0, 0, [], time.process_time()
    scheduled = warm + (secrets.randbelow(1000) / 1000 / rate if rate else 0.0)
    while True:
        start = scheduled if rate else time.time()
        if rate:
            pause = scheduled - time.time()
            if pause > 0:
                time.sleep(pause)
            scheduled += 1 / rate
        if start >= end:
            break
        ok = _operate(client, operation, state)
        finished = time.time()
        if start >= begin and finished <= end:
            done, errors = done + ok, errors + (not ok)
            latencies.append(finished - start)
        if not rate and finished >= end:
            break
    out.put((done, errors, time.process_time() - cpu, latencies))


def measure(
    setup: dict[str, Any], operation: str, clients: int, seconds: float, warmup: float = 0.0, rate: float = 0.0
) -> dict[str, Any]:
    """One run: operations/s over ``seconds`` (after ``warmup`` uncounted seconds) with ``clients`` processes,
    failures, latency percentiles, and the CPU the load generator itself used (in cores: 1.0 = one core busy for
    the whole window). ``rate`` > 0: open loop at ``rate`` requests/s in all.

    The clock starts only when every client process has logged in (its connection open, the server's nonce
    known): a provider's first requests after a start (lazy imports, key unlocking) and the clients' own start-up
    are never inside the schedule. Before, the schedule began at a fixed time after forking: on a loaded machine
    clients were still logging in seconds after it, and an open-loop run charged that lateness to every request
    it then sent late (p50 of seconds, few requests counted; docs/performance.md)."""
    context = multiprocessing.get_context("fork")
    out, ready = context.Queue(), context.Queue()
    timing = context.Array("d", 3)  # (warm-up start, count start, end); 0 until every client is ready
    processes = [context.Process(target=_worker, args=(setup, operation, timing, rate / clients, ready, out))
                 for _ in range(clients)]  # fmt: skip
    for process in processes:
        process.start()
    for _ in processes:  # a client whose login failed is ready too: it counts as one failure
        ready.get(timeout=180)
    warm = time.time() + 0.2
    timing[1], timing[2] = warm + warmup, warm + warmup + seconds
    timing[0] = warm  # last: a client reads the window once this is set
    results = [out.get(timeout=seconds + warmup + 180) for _ in processes]
    for process in processes:
        process.join()
    latencies = sorted(latency for *_, chunk in results for latency in chunk)

    def percentile(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")

    return {"rate": sum(r[0] for r in results) / seconds, "errors": sum(r[1] for r in results),
            "cores": sum(r[2] for r in results) / (seconds + warmup), "p50": percentile(0.5),
            "p99": percentile(0.99)}  # fmt: skip


# --- the two providers -------------------------------------------------------------------------------------------


def fairness(policy: str, workers: int) -> tuple[dict[str, str], dict[str, Any]]:
    """The idp's environment and oidc-provider's configuration for one refresh policy ("keep" or "rotate") and
    process count: the single place both are derived from (tests/idp/test_bench_oidc_fairness.py)."""
    if policy not in ("keep", "rotate"):
        raise ValueError(policy)
    idp_env = {"ANCHORID_OIDC_REFRESH_ROTATION": "all" if policy == "rotate" else "public",
               "ANCHORID_WORKERS": str(workers), "ANCHORID_OIDC_DPOP_NONCE_REQUIRED": "1"}  # fmt: skip
    node_config = {"rotate": policy == "rotate", "workers": workers}
    return idp_env, node_config


def rss_mib(pid: int) -> list[float]:
    """Resident set of ``pid``'s serving processes, MiB: its children that serve (Granian workers, Node cluster
    workers) or the process itself when it has none."""

    def rss(p: int) -> float:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def children(p: int) -> list[int]:
        found = []
        for task in Path(f"/proc/{p}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
        return found

    try:
        kids = children(pid)
        if kids and all(Path(f"/proc/{k}").exists() for k in kids):
            # The idp's serve process forks Granian (whose children are the workers) and a background worker.
            workers = [w for k in kids for w in children(k)] or kids
            return [rss(w) for w in workers]
        return [rss(pid)]
    except OSError:
        return []


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def settle(pid: int, timeout: float = 60.0) -> None:
    """Wait until a freshly started provider (``pid`` and its children) is idle: below a tenth of a core over half
    a second. The idp's start (imports in the worker and the background-work process) would otherwise fall into the
    measured window on a loaded machine; the same wait for both providers."""
    deadline = time.monotonic() + timeout
    before = _cpu_seconds(_tree(pid))
    while time.monotonic() < deadline:
        time.sleep(0.5)
        after = _cpu_seconds(_tree(pid))
        if after - before < 0.05:
            return
        before = after


class AnchorID:
    """The idp (with jlis) set up once; ``start`` runs a fresh ``anchorid serve idp`` for each run."""

    name = ANCHORID

    def __init__(self, folder: Path, redis: bool, threads: int | None = None) -> None:
        self.parties = start_parties(folder, residents=4)
        try:
            self.setup = _prepare_anchorid(folder, self.parties)
            self.parties.city.stop()  # not needed, and not to share the cores
            self.parties.idp.stop()
        except BaseException:
            self.parties.stop()
            raise
        self.base_env = dict(self.parties.idp.env)
        # Bytecode cached (as any deployment has it): a restart per run then takes seconds less to import the idp
        # (PYTHONDONTWRITEBYTECODE=1 in some shells recompiles every module at every start). Start-up only: the
        # measured window begins after the provider is idle and every client has logged in.
        self.base_env.pop("PYTHONDONTWRITEBYTECODE", None)
        if threads is not None:  # Python threads per Granian worker (ANCHORID_THREADS; the idp's default is 8)
            self.base_env["ANCHORID_THREADS"] = str(threads)
        if redis:
            self.base_env["REDIS_URL"] = REDIS_URL

    def start(self, policy: str, workers: int) -> dict[str, Any]:
        self.parties.idp.env = {**self.base_env, **fairness(policy, workers)[0]}
        for attempt in range(3):  # on a loaded machine a start can miss the harness's deadline: stop, try again
            try:
                self.parties.idp.start("/.well-known/openid-configuration")
                assert self.parties.idp.process is not None
                settle(self.parties.idp.process.pid)
                return self.setup
            except RuntimeError:
                self.parties.idp.stop()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def memory(self) -> list[float]:
        process = self.parties.idp.process
        return rss_mib(process.pid) if process else []

    def stop(self) -> None:
        self.parties.idp.stop()

    def close(self) -> None:
        self.parties.stop()


def _prepare_anchorid(folder: Path, parties: Any) -> dict[str, Any]:
    keys = folder / "second-rp"  # the interop harness's confidential client: the bench client reuses its key
    config = json.loads((keys / "config.json").read_text())
    subprocess.run([sys.executable, "-m", "anchorid.cli", "idp", "client", "add", "--data", str(parties.idp.data),
                    "--client-id", "bench", "--jwks", str(keys / "jwks.json"),
                    "--redirect-uri", REDIRECT_URI, "--scopes", SCOPE],
                   env=parties.idp.env, check=True, capture_output=True)  # fmt: skip
    browser = Browser(parties.idp.url)
    browser.onboard(parties.adult_card())
    setup = {"issuer": parties.idp.url, "client_id": "bench", "client_jwk": config["client_jwk"]}
    setup["metadata"] = requests.get(f"{parties.idp.url}/.well-known/openid-configuration", timeout=10).json()
    setup["cookie"] = "; ".join(f"{c.name}={c.value}" for c in browser.http.cookies)
    first = Client({**setup})
    status, _, data = first.post_signed(setup["metadata"]["pushed_authorization_request_endpoint"], {
        "response_type": "code", "redirect_uri": REDIRECT_URI, "scope": SCOPE, "code_challenge": "x" * 43,
        "code_challenge_method": "S256"})  # fmt: skip
    assert status == 201, data
    query = urlencode({"client_id": "bench", "request_uri": json.loads(data)["request_uri"]})
    browser.authorize(f"{setup['metadata']['authorization_endpoint']}?{query}", REDIRECT_URI)  # consent, once
    return setup


class NodeProvider:
    """oidc-provider installed once (``npm ci``); ``start`` runs a fresh ``node server.mjs`` (or cluster)."""

    name = "oidc-provider"

    def __init__(self, folder: Path, client_jwk: dict[str, str], adapter: str) -> None:
        self.folder = folder
        self.project = folder / "oidc-provider"
        self.project.mkdir()
        for name in ("package.json", "package-lock.json", "server.mjs"):
            shutil.copy(OIDC_PROVIDER / name, self.project / name)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=self.project, check=True)
        self.client_jwk = client_jwk
        self.adapter = adapter
        self.process: subprocess.Popen[bytes] | None = None

    def adapter_for(self, workers: int) -> str:
        return "redis" if workers > 1 else self.adapter

    def start(self, policy: str, workers: int) -> dict[str, Any]:
        port = free_port()
        public = {k: v for k, v in self.client_jwk.items() if k != "d"}
        adapter = self.adapter_for(workers)
        if adapter == "redis":
            subprocess.run(["redis-cli", "-u", REDIS_URL, "flushdb"], check=True, capture_output=True)
        config = {"port": port, "client_id": "bench", "client_jwks": {"keys": [public]}, "redirect_uri": REDIRECT_URI,
                  "resident": {"name": "鎌倉 花子", "birthdate": "1980-04-01", "gender": "female"},
                  "adapter": adapter, "redis_url": REDIS_URL, **fairness(policy, workers)[1]}  # fmt: skip
        (self.project / "config.json").write_text(json.dumps(config))
        self.process = subprocess.Popen(["node", "server.mjs", "config.json"], cwd=self.project,
                                        stdout=subprocess.DEVNULL, start_new_session=True,
                                        stderr=(self.folder / "oidc-provider.log").open("ab"))  # fmt: skip
        wait_for_port(port)
        time.sleep(0.5 if workers > 1 else 0.0)  # every cluster worker listening
        setup = self._session(f"http://127.0.0.1:{port}")
        settle(self.process.pid)
        return setup

    def _session(self, issuer: str) -> dict[str, Any]:
        setup = {"issuer": issuer, "client_id": "bench", "client_jwk": self.client_jwk}
        setup["metadata"] = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
        # The resident's session: one authorization through the (automatic) interaction, as a browser would.
        first = Client({**setup, "cookie": ""})
        status, _, data = first.post_signed(setup["metadata"]["pushed_authorization_request_endpoint"], {
            "response_type": "code", "redirect_uri": REDIRECT_URI, "scope": SCOPE, "code_challenge": "x" * 43,
            "code_challenge_method": "S256"})  # fmt: skip
        assert status == 201, data
        browser = requests.Session()
        query = urlencode({"client_id": "bench", "request_uri": json.loads(data)["request_uri"]})
        response = browser.get(f"{setup['metadata']['authorization_endpoint']}?{query}", allow_redirects=False)
        while response.is_redirect and not response.headers["Location"].startswith(REDIRECT_URI):
            response = browser.get(requests.compat.urljoin(response.url, response.headers["Location"]),
                                   allow_redirects=False)  # fmt: skip
        assert response.headers["Location"].startswith(REDIRECT_URI), response.text
        setup["cookie"] = "; ".join(f"{c.name}={c.value}" for c in browser.cookies if c.path == "/")
        return setup

    def memory(self) -> list[float]:
        return rss_mib(self.process.pid) if self.process else []

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
            self.process = None

    def close(self) -> None:
        self.stop()


def profile_idp(anchorid: AnchorID, flow: str, workers: int, clients: int, seconds: float, out: Path) -> None:
    """py-spy samples the idp (serve process and its children) during a run of ``flow``: ``.txt`` collapsed
    stacks, ``.json`` speedscope, anything else a flame graph (SVG)."""
    operation, policy, _ = FLOWS[flow]
    setup = anchorid.start(policy, workers)
    try:
        formats = {".txt": "raw", ".json": "speedscope"}
        process = anchorid.parties.idp.process
        assert process is not None
        spy = subprocess.Popen([PY_SPY, "record", "--pid", str(process.pid), "--subprocesses",
                                "--duration", str(int(seconds) + 4), "--rate", "200", "--format",
                                formats.get(out.suffix, "flamegraph"), "--output", str(out),
                                "--nonblocking"])  # fmt: skip
        measure(setup, operation, clients, seconds, warmup=1.0)
        spy.wait()
    finally:
        anchorid.stop()


# The full profile (the defaults) and --quick: the same flows, process counts and open-loop fractions, fewer
# closed-loop levels (one below and one past where two cores saturate), one alternating pair per level, shorter
# windows: 64 runs, estimated at 12-15 minutes on a quiet 2-core machine (docs/performance.md); the full one 160.
FULL: dict[str, Any] = {"clients": "4,8,16", "seconds": 5.0, "warmup": 3.0, "repeats": 2}
QUICK: dict[str, Any] = {"clients": "6,16", "seconds": 4.0, "warmup": 2.0, "repeats": 1}


def _levels(text: str, kind: type = int) -> list[Any]:
    return [kind(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--flows", default=",".join(FLOWS), help=f"comma-separated, of {', '.join(FLOWS)}")
    parser.add_argument("--workers", default="1,2", help="process counts (1 = 1 Granian worker vs 1 Node process)")
    parser.add_argument("--quick", action="store_true",
                        help=f"the short profile for a quiet window: {' '.join(f'--{k} {v}' for k, v in QUICK.items())}"
                             " (explicit options still win)")  # fmt: skip
    parser.add_argument("--clients", help=f"closed-loop concurrency levels (client processes; {FULL['clients']})")
    parser.add_argument("--open-loop", default="0.5,0.9", help="offered rates as fractions of oidc-provider's plateau")
    parser.add_argument("--open-clients", type=int, default=16, help="client processes of an open-loop run")
    parser.add_argument("--seconds", type=float, help=f"counted seconds per run ({FULL['seconds']})")
    parser.add_argument("--warmup", type=float, help=f"uncounted seconds at the start of each run ({FULL['warmup']})")
    parser.add_argument("--repeats", type=int, help=f"runs per provider and level, alternating ({FULL['repeats']})")
    parser.add_argument("--adapter", choices=["memory", "redis"], default="memory",
                        help="oidc-provider's store with 1 process (2 processes always use redis)")  # fmt: skip
    parser.add_argument("--redis", action="store_true", help="the idp keeps replay records in Redis (REDIS_URL)")
    parser.add_argument("--idp-threads", type=int,
                        help="Python threads per Granian worker of the idp (ANCHORID_THREADS; default: the idp's, 8). "
                             "A Node process runs one JavaScript thread; see docs/performance.md")  # fmt: skip
    parser.add_argument("--profile", type=Path, help="py-spy output for the idp during one more run")
    parser.add_argument("--profile-operation", choices=list(FLOWS), default="login")
    args = parser.parse_args()
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, type(value)(value))
    started = time.monotonic()
    flows, worker_counts = _levels(args.flows, str), _levels(args.workers)
    levels, fractions = _levels(args.clients), _levels(args.open_loop, float)

    closed: dict[tuple[str, str, int, int], list[dict[str, Any]]] = {}
    opened: dict[tuple[str, str, int, float], list[dict[str, Any]]] = {}
    memory: dict[tuple[str, int], list[float]] = {}

    def run(provider: Any, flow: str, workers: int, clients: int, rate: float = 0.0) -> dict[str, Any]:
        operation, policy, _ = FLOWS[flow]
        setup = provider.start(policy, workers)
        try:
            result = measure(setup, operation, clients, args.seconds, args.warmup, rate)
            memory.setdefault((provider.name, workers), []).append(max(provider.memory(), default=0.0))
        finally:
            provider.stop()
        kind = f"open {rate:.0f}/s" if rate else f"{clients} clients"
        print(f"  {provider.name:14} {flow:16} {workers}w {kind:14} {result['rate']:8.1f}/s  p50 {result['p50']:6.1f} "
              f"p99 {result['p99']:7.1f} ms  ({result['errors']} failed; load generator {result['cores']:.2f} cores)",
              flush=True)  # fmt: skip
        return result

    with tempfile.TemporaryDirectory(prefix="bench-oidc-") as temporary:
        folder = Path(temporary)
        anchorid = AnchorID(folder / "anchorid", args.redis, args.idp_threads)
        try:
            node = NodeProvider(folder, anchorid.setup["client_jwk"], args.adapter)
            providers = [anchorid, node]
            for workers in worker_counts:
                for flow in flows:
                    for clients in levels:
                        for _ in range(args.repeats):
                            for provider in providers:  # alternate, so drift hits both alike
                                closed.setdefault((provider.name, flow, workers, clients), []).append(
                                    run(provider, flow, workers, clients)
                                )
                    plateau = max(statistics.median(r["rate"] for r in closed[(node.name, flow, workers, c)])
                                  for c in levels)  # fmt: skip
                    for fraction in fractions:
                        for _ in range(args.repeats):
                            for provider in providers:
                                opened.setdefault((provider.name, flow, workers, fraction), []).append(
                                    run(provider, flow, workers, args.open_clients, rate=fraction * plateau)
                                )
            if args.profile:
                profile_idp(anchorid, args.profile_operation, worker_counts[0], levels[-1], args.seconds, args.profile)
        finally:
            anchorid.close()
            node.close() if "node" in locals() else None

    report(args, flows, worker_counts, levels, fractions, closed, opened, memory)
    print(f"\nThe whole run took {(time.monotonic() - started) / 60:.1f} minutes.")


def report(args: Any, flows: list[str], worker_counts: list[int], levels: list[int], fractions: list[float],
           closed: dict[Any, list[dict[str, Any]]], opened: dict[Any, list[dict[str, Any]]],
           memory: dict[tuple[str, int], list[float]]) -> None:  # fmt: skip
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    commit = os.environ.get("BENCH_COMMIT") or done.stdout.strip() or "unknown (not a git checkout: set BENCH_COMMIT)"
    node_version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"\n## OpenID Provider ({today()}; {machine()}; Node.js {node_version}; commit {commit})\n")
    print(f"`.venv/bin/python benchmarks/bench_oidc.py {' '.join(sys.argv[1:])}`\n")
    store = "SQLite (WAL, synchronous=NORMAL)" + (", replay records in Redis" if args.redis else "")
    store += f"; {args.idp_threads or 8} Python thread(s) per Granian worker"
    print(f"Stores: idp {store}; oidc-provider {args.adapter} with 1 process, Redis with 2.\n")
    print("Closed loop (ops/s, median of runs; ratio = idp / oidc-provider):\n")
    print("| flow | processes | clients | AnchorID idp | oidc-provider | ratio | runs (idp / oidc-provider) |")
    print("|---|---:|---:|---:|---:|---:|---|")
    med = statistics.median
    for workers in worker_counts:
        for flow in flows:
            best = {}
            for clients in levels:
                ours = [r["rate"] for r in closed[(ANCHORID, flow, workers, clients)]]
                theirs = [r["rate"] for r in closed[("oidc-provider", flow, workers, clients)]]
                for name, rates in ((ANCHORID, ours), ("oidc-provider", theirs)):
                    best[name] = max(best.get(name, 0.0), med(rates))
                runs = f"{', '.join(f'{r:.0f}' for r in ours)} / {', '.join(f'{r:.0f}' for r in theirs)}"
                print(f"| {flow} | {workers} | {clients} | {med(ours):.0f} | {med(theirs):.0f} | "
                      f"{med(ours) / med(theirs):.2f} | {runs} |")  # fmt: skip
            print(f"| **{flow} plateau** | {workers} | | **{best[ANCHORID]:.0f}** | **{best['oidc-provider']:.0f}** | "
                  f"**{best[ANCHORID] / best['oidc-provider']:.2f}** | |")  # fmt: skip
    if fractions:
        print("\nOpen loop (offered rate = fraction of oidc-provider's plateau; latency from the scheduled time):\n")
        print("| flow | processes | offered | idp achieved | idp p50 / p99 ms | oidc-provider achieved "
              "| oidc-provider p50 / p99 ms |")  # fmt: skip
        print("|---|---:|---:|---:|---:|---:|---:|")
        for workers in worker_counts:
            for flow in flows:
                for fraction in fractions:
                    ours, theirs = (
                        opened[(ANCHORID, flow, workers, fraction)],
                        opened[("oidc-provider", flow, workers, fraction)],
                    )
                    cells = []
                    for runs in (ours, theirs):
                        cells.append(f"{med(r['rate'] for r in runs):.0f}")
                        cells.append(f"{med(r['p50'] for r in runs):.1f} / {med(r['p99'] for r in runs):.1f}")
                    print(f"| {flow} | {workers} | {fraction:.0%} | {' | '.join(cells)} |")
    print("\nLargest resident set of a serving process at the end of a run (MiB; median and maximum over runs):\n")
    for (name, workers), values in sorted(memory.items()):
        if values:
            print(f"- {name}, {workers} process(es): {med(values):.0f}, at most {max(values):.0f}")
    cores = [r["cores"] for runs in (*closed.values(), *opened.values()) for r in runs]
    if cores:
        print(f"\nLoad generator CPU: {min(cores):.2f}–{max(cores):.2f} cores (median {med(cores):.2f}).")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
