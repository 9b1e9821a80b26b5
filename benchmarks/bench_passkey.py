"""The resident's passkey login at saturation (issue #13): logins/s of ``anchorid serve idp --workers N``, on
SQLite and on PostgreSQL, closed-loop clients raised until the throughput stops growing.

    .venv/bin/python benchmarks/bench_passkey.py [--backends sqlite,postgres] [--workers 2]
        [--clients 1,2,4,8,16,32] [--seconds 5] [--warmup 2] [--repeats 2]
        [--database-url postgres://postgres@127.0.0.1:5432] [--redis-url redis://...]
        [--baseline-src DIR]

One login is what a browser that is not logged in does: POST ``/login/passkey/options/`` (a fresh challenge bound
to a new session), sign the assertion (software authenticator, ES256), POST ``/login/passkey/finish/``; the idp
checks the rate limits (per address, per account, the anonymous-row caps), uses the challenge up (single use
across workers), verifies the assertion with the ``webauthn`` library, advances the sign count (refusing one that
does not increase), appends the ``login`` audit entry and opens a new session. Every answer is checked (200 and
``ok``); a refused login counts as failed. Then the client forgets the session (the next login is a new browser
session, as a resident's is) and keeps its CSRF cookie.

Set-up per backend: a fresh data folder (and for PostgreSQL a database of its own,
``anchorid_bench_passkey``, dropped and made afresh, never the tests' ones); a jlis only for the idp's set-up;
accounts with one passkey each, written straight into the database (registration is not what is measured), one
per client (a passkey's counter must only grow, so two clients never share one). Rate limits are raised for the
run (``ANCHORID_RATE_LIMITS``), nothing else is changed.

Each run: a fresh ``anchorid serve idp --workers N`` process; a warm-up at the highest load, discarded; then steps
of ``--clients`` closed-loop clients (each a process with one keep-alive connection, one login in flight) until
the throughput stops growing (less than 5 % over the best step, twice). Backends alternate run by run. Reported:
the plateau (median over runs of each run's best step), p50/p99 latency of one login at that step, the load
generator's CPU (it shares the cores with the server: every figure is a floor), and the SQL statements one login
costs (counted in-process with Django's test client, same code).

``--baseline-src DIR`` runs the same benchmark a second time against another commit's ``src`` (e.g. made with
``git archive <commit> src | tar -x -C DIR``), its runs alternating with this tree's, and prints the ratio.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from common import PYTHON, REPO, free_port, machine, today

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from tests.interop.harness import JLIS_CA_PASSPHRASE, KEYSTORE_PASSPHRASE, Server, base_env, run

from bench_idp import make_passkey_accounts
from bench_scaling import SATURATION_GAIN, _closed_loop, fresh_database, serve, shared_state_env, step, stop

RATE_LIMITS = json.dumps(
    {
        "login-ip": [10**9, 600],
        "login-account": [10**9, 900],
        "passkey-challenge-ip": [10**9, 600],
        "passkey-challenge-all": [10**9, 600],
    }
)


def _cookie(response: http.client.HTTPResponse, name: str) -> str | None:
    for header, value in response.getheaders():
        if header.lower() == "set-cookie" and value.startswith(name + "="):
            return value.split(";", 1)[0].split("=", 1)[1]
    return None


def _login_client(url: str, plan: Any, ready: Any, seconds: float, out: Any) -> None:
    sys.path.insert(0, str(REPO / "tests" / "idp"))
    from cryptography.hazmat.primitives import serialization
    from webauthn_authenticator import SoftAuthenticator

    origin, account, first_count = plan
    authenticator = SoftAuthenticator(
        origin=origin,
        rp_id="localhost",
        key=serialization.load_pem_private_key(account["key"].encode(), None),  # type: ignore[arg-type]
        credential_id=bytes.fromhex(account["credential_id"]),
        user_handle=uuid.UUID(account["account"]).bytes,
        sign_count=first_count,  # each run continues the counter: the idp rightly refuses one going back
    )
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    connection.request("GET", "/login/passkey/")
    page = connection.getresponse()
    page.read()
    csrf = _cookie(page, "csrftoken")
    if csrf is None:
        raise RuntimeError("no CSRF cookie from /login/passkey/")
    # The browser's origin (localhost) is inside the signed client data; HTTP goes to 127.0.0.1, which is also what
    # Django's CSRF check compares the Origin header with.
    headers = {"X-CSRFToken": csrf, "Origin": url, "Referer": url + "/login/passkey/"}

    def login() -> bool:
        connection.request("POST", "/login/passkey/options/", headers={**headers, "Cookie": f"csrftoken={csrf}"})
        response = connection.getresponse()
        options = response.read()
        session = _cookie(response, "sessionid")
        if response.status != 200 or session is None:
            return False
        body = authenticator.get(options.decode())
        cookie = f"csrftoken={csrf}; sessionid={session}"
        connection.request(
            "POST",
            "/login/passkey/finish/",
            body=body,
            headers={**headers, "Cookie": cookie, "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        answer = response.read()
        return response.status == 200 and json.loads(answer).get("ok") is True  # the session is then forgotten

    if not login():  # proof that a login really succeeds
        ready.abort()
        out.put((0, 1, [], 0.0))
        return
    _closed_loop(login, ready, seconds, out)


def statements_per_login(env: dict[str, str]) -> int:
    """SQL statements of one login (options + finish, a browser not logged in), in-process, the same code."""
    script = """
import json, os, sys
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, setup_test_environment
setup_test_environment()
sys.path.insert(0, os.path.join(os.environ["REPO"], "tests", "idp"))
from webauthn_authenticator import SoftAuthenticator
from webauthn.helpers import bytes_to_base64url
from anchorid.idp.accounts.models import Account
from anchorid.idp.passkeys.models import Passkey
account = Account.objects.create_user("bench-count-" + os.urandom(4).hex())
authenticator = SoftAuthenticator(origin=os.environ["ANCHORID_IDP_ORIGIN"], rp_id="localhost",
                                  user_handle=account.pk.bytes)
Passkey.objects.create(account=account, credential_id=bytes_to_base64url(authenticator.credential_id),
                       public_key=authenticator._cose_key(), name="bench")
client = Client(SERVER_NAME="127.0.0.1")
client.get("/login/passkey/")
counts = []
for _ in range(2):
    client.cookies.pop("sessionid", None)
    with CaptureQueriesContext(connection) as queries:
        options = client.post("/login/passkey/options/").json()
        answer = client.post("/login/passkey/finish/", authenticator.get(options), content_type="application/json")
    assert answer.status_code == 200, answer.content
    counts.append(len(queries.captured_queries))
print(counts[-1])
"""
    done = subprocess.run(
        [PYTHON, "-c", script],
        env={**env, "REPO": str(REPO), "ANCHORID_ALLOWED_HOSTS": "*"},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return -1
    return int(done.stdout.strip().splitlines()[-1])


def run_backend(server: Server, accounts: list[dict[str, Any]], workers: int, levels: list[int],
                args: argparse.Namespace, run_number: int) -> list[dict[str, Any]]:  # fmt: skip
    process = serve(server, workers)
    try:
        origin = server.env["ANCHORID_IDP_ORIGIN"]
        url = "http://127.0.0.1:" + server.url.rsplit(":", 1)[1]
        base = run_number * 10**7  # every step starts its counters above the last run's

        def plans(clients: int, offset: int) -> list[Any]:
            return [(origin, accounts[i], base + offset) for i in range(clients)]

        step(_login_client, url, plans(levels[-1], 0), args.warmup)  # discarded
        results: list[dict[str, Any]] = []
        flat = 0
        for number, clients in enumerate(levels, start=1):
            result = step(_login_client, url, plans(clients, number * 10**6), args.seconds)
            best = max((r["rate"] for r in results), default=0.0)
            results.append(result)
            print(f"  {server.name:16} workers {workers}  clients {clients:3}  {result['rate']:7.1f} logins/s  "
                  f"p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:7.1f} ms  ({result['errors']} failed; "
                  f"load generator {result['generator_cores']:.2f} cores)", flush=True)  # fmt: skip
            flat = flat + 1 if result["rate"] < best * SATURATION_GAIN else 0
            if flat >= 2:
                break
        return results
    finally:
        stop(process, server)


Setup = tuple[Server, list[dict[str, Any]], int]


def prepare(root: Path, label: str, backend: str, database_url: str | None, src: str | None,
            shared: dict[str, str], jlis: Server, clients: int) -> Setup:  # fmt: skip
    idp_url = f"http://localhost:{free_port()}"
    env = dict(base_env(), ANCHORID_KEYSTORE_PASSPHRASE=KEYSTORE_PASSPHRASE, ANCHORID_JLIS_URL=jlis.url,
               ANCHORID_IDP_ORIGIN=idp_url, ANCHORID_LOG_LEVEL="ERROR", ANCHORID_RATE_LIMITS=RATE_LIMITS,
               DJANGO_SETTINGS_MODULE="anchorid.idp.settings", **shared)  # fmt: skip
    if src:
        env["PYTHONPATH"] = src
    if database_url:
        env["DATABASE_URL"] = database_url
    data = root / f"idp-{label}-{backend}"
    data.mkdir(parents=True)
    env["ANCHORID_DATA_DIR"] = str(data)
    run("idp", "jlis-setup", "--data", str(data), "--jlis", jlis.url, env=env)
    server = Server(f"{label}/{backend}", idp_url, data, env)
    server.name = "idp"
    accounts = make_passkey_accounts(env, clients)
    return server, accounts, statements_per_login(env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432",
                        help="the PostgreSQL server (databases of its own are made there)")  # fmt: skip
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"), help="passed to the servers")
    parser.add_argument("--workers", type=int, default=2, help="Granian workers of the idp")
    parser.add_argument("--clients", default="1,2,4,8,16,32", help="load steps: closed-loop client processes")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each load step")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--baseline-src", help="another commit's src folder, measured alternately with this one")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    backends = args.backends.split(",")
    os.environ.setdefault("ANCHORID_JLIS_CA_PASSPHRASE", JLIS_CA_PASSPHRASE)
    shared = shared_state_env(args.redis_url)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO)
    variants = [("this", None)] + ([("baseline", args.baseline_src)] if args.baseline_src else [])

    root = Path(tempfile.mkdtemp(prefix="bench-passkey-"))
    jlis = Server("jlis", f"http://127.0.0.1:{free_port()}", root / "jlis", base_env())
    run("jlis", "seed", "--data", str(jlis.data), "--residents", "1", "--cards-dir", str(root / "cards"),
        env=jlis.env)  # fmt: skip
    jlis.start("/ca/sign.cer")
    setups: dict[tuple[str, str], Setup] = {}
    peaks: dict[tuple[str, str], list[dict[str, Any]]] = {}
    try:
        for label, src in variants:
            for backend in backends:
                url = None
                if backend == "postgres":
                    url = fresh_database(args.database_url, f"anchorid_bench_passkey_{label}")
                setups[(label, backend)] = prepare(root, label, backend, url, src, shared, jlis, max(levels))
        order = [(label, backend) for backend in backends for label, _ in variants]
        for repeat in range(args.repeats):
            for key in order if repeat % 2 == 0 else list(reversed(order)):
                server, accounts, _ = setups[key]
                print(f"{key[0]} on {key[1]}, run {repeat + 1}", flush=True)
                results = run_backend(server, accounts, args.workers, levels, args, repeat + 1)
                peaks.setdefault(key, []).append(max(results, key=lambda r: r["rate"]))
    finally:
        jlis.stop()
        shutil.rmtree(root, ignore_errors=True)

    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\n## Passkey logins ({today()}; {machine()}; commit {commit.stdout.strip()}; load average at the end "
          f"{load})\n")  # fmt: skip
    print(f"REDIS_URL {'passed: ' + args.redis_url if args.redis_url else 'not set'}; {args.workers} idp workers")
    print("| code | backend | plateau logins/s (median) | clients at peak | p50 | p99 | load generator | "
          "SQL statements per login | runs' peaks |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for key, runs in peaks.items():
        middle = sorted(runs, key=lambda p: p["rate"])[(len(runs) - 1) // 2]
        rate = statistics.median(p["rate"] for p in runs)
        each = ", ".join(f"{p['rate']:.0f}" for p in runs)
        print(f"| {key[0]} | {key[1]} | {rate:.0f} | {middle['clients']} | {middle['p50_ms']:.1f} ms | "
              f"{middle['p99_ms']:.1f} ms | {middle['generator_cores']:.2f} cores | {setups[key][2]} | "
              f"{each} |")  # fmt: skip
    if args.baseline_src:
        for backend in backends:
            this = statistics.median(p["rate"] for p in peaks[("this", backend)])
            base = statistics.median(p["rate"] for p in peaks[("baseline", backend)])
            print(f"{backend}: this / baseline = {this / base:.2f}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
