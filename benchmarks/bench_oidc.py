"""The OpenID Provider side by side with panva's oidc-provider: token exchanges/s and full logins/s.

    .venv/bin/python benchmarks/bench_oidc.py [--seconds 10] [--repeats 3] [--clients 4] [--profile FILE]

Both providers run the same FAPI 2.0 features: PAR required, PKCE S256, private_key_jwt (ES256), DPoP-bound tokens
(ES256) with server nonces, ES256 ID tokens. AnchorID: ``anchorid serve idp`` (one Granian worker, SQLite, as the
demo runs it; jlis beside it for the resident's card onboarding). oidc-provider 9: ``node server.mjs`` (one
process, in-memory adapter; benchmarks/oidc-provider, installed with ``npm ci`` at benchmark time).

Measured, the same way for both, by the same load generator: ``--clients`` Python processes, each with one
keep-alive HTTP connection (http.client; ES256 signing with cryptography, about 30 µs), counting completed
operations in fixed time windows; runs alternate between the providers; medians of ``--repeats``, and the median
of the ratios of each AnchorID run to the oidc-provider run right after it (robust when the machine's load drifts).

- token exchange: ``grant_type=refresh_token`` with a fresh client assertion and DPoP proof each time (codes are
  single use, so a code exchange cannot be repeated; its cost is inside the login below). oidc-provider rotates
  the refresh token on every use (configured so); AnchorID keeps a confidential client's (FAPI 2.0).
- full login, the resident already logged in and consent given: PAR (client assertion + DPoP proof) → authorize
  with the session cookie (302 with the code) → code exchange (client assertion + DPoP proof; ID token, access and
  refresh token).
- userinfo: ``GET`` with the DPoP-bound access token and a proof carrying ``ath``.

Load generator and servers share the machine's cores: figures are floors, and the ratio is what to read.
``--profile FILE [--profile-operation login|exchange|userinfo]`` also samples the idp worker with py-spy during a
run (needs ``py-spy`` on PATH); ``--only OPERATION`` measures one operation. Each run prints the CPU the load
generator used, in cores, to show how much of the two cores it took from the servers.
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


def _worker(setup: dict[str, Any], operation: str, seconds: float, start_at: float, out: Any) -> None:
    client = Client(setup)
    tokens = client.login()  # also warms the connection and learns the nonce
    if tokens is None:
        out.put((0, 1, 0.0))
        return
    refresh_token = tokens["refresh_token"]
    while time.time() < start_at:
        time.sleep(0.001)
    done, errors, end, cpu = 0, 0, start_at + seconds, time.process_time()
    while time.time() < end:
        if operation == "login":
            ok = client.login() is not None
        elif operation == "exchange":
            result = client.exchange(refresh_token)
            ok = result is not None
            if result and result.get("refresh_token"):
                refresh_token = result["refresh_token"]
        else:
            ok = client.userinfo(tokens["access_token"])
        done, errors = done + ok, errors + (not ok)
    out.put((done, errors, time.process_time() - cpu))


def measure(setup: dict[str, Any], operation: str, clients: int, seconds: float) -> tuple[float, int, float]:
    """Operations per second over ``seconds`` with ``clients`` processes, how many failed, and the CPU the load
    generator itself used (in cores: 1.0 = one core busy for the whole window)."""
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    start_at = time.time() + 2.0  # every process logged in and connected before the window opens
    processes = [context.Process(target=_worker, args=(setup, operation, seconds, start_at, out))
                 for _ in range(clients)]  # fmt: skip
    for process in processes:
        process.start()
    results = [out.get(timeout=seconds + 120) for _ in processes]
    for process in processes:
        process.join()
    rate = sum(done for done, _, _ in results) / seconds
    return rate, sum(errors for _, errors, _ in results), sum(cpu for _, _, cpu in results) / seconds


# --- the two providers -------------------------------------------------------------------------------------------


def anchorid_provider(folder: Path) -> tuple[dict[str, Any], Any]:
    """The idp (with jlis) running; a registered bench client; a resident logged in who consented once."""
    parties = start_parties(folder, residents=4)
    try:
        return _prepare_anchorid(folder, parties), parties
    except BaseException:
        parties.stop()
        raise


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


def node_provider(folder: Path, client_jwk: dict[str, str]) -> tuple[dict[str, Any], subprocess.Popen[bytes]]:
    project = folder / "oidc-provider"
    project.mkdir()
    for name in ("package.json", "package-lock.json", "server.mjs"):
        shutil.copy(OIDC_PROVIDER / name, project / name)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=project, check=True)
    port = free_port()
    public = {k: v for k, v in client_jwk.items() if k != "d"}
    config = {"port": port, "client_id": "bench", "client_jwks": {"keys": [public]}, "redirect_uri": REDIRECT_URI,
              "resident": {"name": "鎌倉 花子", "birthdate": "1980-04-01", "gender": "female"}}  # fmt: skip
    (project / "config.json").write_text(json.dumps(config))
    process = subprocess.Popen(["node", "server.mjs", "config.json"], cwd=project, stdout=subprocess.DEVNULL,
                               stderr=(folder / "oidc-provider.log").open("wb"))  # fmt: skip
    wait_for_port(port)
    issuer = f"http://127.0.0.1:{port}"
    setup = {"issuer": issuer, "client_id": "bench", "client_jwk": client_jwk}
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
    return setup, process


def profile_idp(parties: Any, setup: dict[str, Any], operation: str, clients: int, seconds: float, out: Path) -> None:
    """py-spy samples the idp's Granian worker during a run of ``operation``: ``.txt`` collapsed stacks, ``.json``
    speedscope, anything else a flame graph (SVG)."""
    # ``anchorid serve idp`` forks Granian's worker and spawns the background-work process: sample them all.
    formats = {".txt": "raw", ".json": "speedscope"}
    spy = subprocess.Popen(["py-spy", "record", "--pid", str(parties.idp.process.pid), "--subprocesses",
                            "--duration", str(int(seconds) + 2), "--rate", "200", "--format",
                            formats.get(out.suffix, "flamegraph"), "--output", str(out), "--nonblocking"])  # fmt: skip
    measure(setup, operation, clients, seconds)
    spy.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4, help="load-generating processes")
    parser.add_argument("--profile", type=Path, help="py-spy output for the idp worker during a run")
    parser.add_argument("--profile-operation", choices=["login", "exchange", "userinfo"], default="login")
    parser.add_argument("--only", choices=["login", "exchange", "userinfo"], help="measure one operation")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-oidc-") as temporary:
        folder = Path(temporary)
        anchorid_setup, parties = anchorid_provider(folder / "anchorid")
        try:
            node_setup, node = node_provider(folder, anchorid_setup["client_jwk"])
        except BaseException:
            parties.stop()
            raise
        providers = {ANCHORID: anchorid_setup, "oidc-provider": node_setup}
        operations = {"exchange": "token exchanges/s", "login": "full logins/s", "userinfo": "userinfo calls/s"}
        rates: dict[tuple[str, str], list[float]] = {}
        failures: dict[tuple[str, str], int] = {}
        try:
            for operation in [args.only] if args.only else operations:
                for _ in range(args.repeats):
                    for name, setup in providers.items():  # alternate, so drift hits both alike
                        rate, errors, cores = measure(setup, operation, args.clients, args.seconds)
                        rates.setdefault((name, operation), []).append(rate)
                        failures[(name, operation)] = failures.get((name, operation), 0) + errors
                        print(f"  {name:14} {operations[operation]:18} {rate:8.1f}  ({errors} failed; load generator "
                              f"{cores:.2f} cores)", flush=True)  # fmt: skip
            if args.profile:
                profile_idp(parties, anchorid_setup, args.profile_operation, args.clients, args.seconds, args.profile)
        finally:
            node.terminate()
            parties.stop()

    node_version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"\n## OpenID Provider ({today()}; {machine()}; Node.js {node_version})\n")
    print(f"`.venv/bin/python benchmarks/bench_oidc.py --seconds {args.seconds:g} --repeats {args.repeats} "
          f"--clients {args.clients}`\n")  # fmt: skip
    print("| operation | AnchorID idp (median) | oidc-provider 9 (median) | ratio of medians | median of paired ratios "
          "| runs (AnchorID / oidc-provider) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---|")
    for operation, label in operations.items():
        if (ANCHORID, operation) not in rates:
            continue
        ours, theirs = rates[(ANCHORID, operation)], rates[("oidc-provider", operation)]
        ratio = statistics.median(ours) / statistics.median(theirs)
        runs = f"{', '.join(f'{r:.0f}' for r in ours)} / {', '.join(f'{r:.0f}' for r in theirs)}"
        failed = failures[(ANCHORID, operation)] + failures[("oidc-provider", operation)]
        note = f" ({failed} failed)" if failed else ""
        medians = f"{statistics.median(ours):.0f} | {statistics.median(theirs):.0f}"
        paired = statistics.median(a / b for a, b in zip(ours, theirs, strict=True) if b)
        print(f"| {label} | {medians} | {ratio:.2f} | {paired:.2f} | {runs}{note} |")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
