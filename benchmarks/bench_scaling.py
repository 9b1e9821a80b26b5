"""Throughput against server workers (issue #12): token exchanges/s (idp) and bookings/s (city) at 1, 2 and 4
Granian workers on PostgreSQL, each load raised until the server saturates.

    .venv/bin/python benchmarks/bench_scaling.py [--database-url postgres://postgres@127.0.0.1:5432]
        [--redis-url redis://127.0.0.1:6379/7] [--workers 1,2,4] [--clients 1,2,4,8,16,32] [--seconds 5]
        [--warmup 3] [--repeats 2] [--only exchange|booking]

Set-up, once: databases of their own on the PostgreSQL server (``anchorid_bench_scaling_idp`` and ``_city``, dropped
and made afresh, never the tests' ones); a seeded jlis (its own SQLite: it only serves the resident's onboarding);
the idp with a registered FAPI 2.0 client (private_key_jwt, DPoP) and a resident who onboarded with their card and
consented once; the city with logged-in residents (city sessions holding verified claims, as the login callback
leaves them) and free slots. ``--redis-url`` (default: ``REDIS_URL``) is passed to every server as ``REDIS_URL``
for the commits whose settings read it; the report says where this commit's servers keep their rate-limit counters
(the settings are asked, not assumed).

Each run: a fresh ``anchorid serve idp|city --workers N`` process; a warm-up at the highest load, discarded; then
closed-loop clients (each a process with one keep-alive connection and one request in flight) raised step by step
(``--clients``) until the throughput stops growing (less than 5 % over the best step so far, twice). Worker counts
alternate (1, 2, 4, then 4, 2, 1, ...) so that drift in the machine's load hits them alike. Reported per worker
count: the peak (median over repeats of each run's best step), the median and p99 latency at that step, and the
ratio to one worker -- where that ratio stops growing is where the curve bends. The load generator runs on the
same cores as the servers (its CPU is printed): on a 2-core machine every figure is a floor, and the bend is
expected at 2 workers.

- token exchange: ``grant_type=refresh_token`` with a fresh client assertion and DPoP proof per request (as
  bench_oidc.py; the client was logged in once beforehand);
- booking: ``POST /booking/book/`` with a free slot and the CSRF token (as bench_booking.py), uncontended: each
  client books its own slots.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg
import requests

from common import PYTHON, REPO, free_port, machine, today

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from tests.interop.harness import (
    JLIS_CA_PASSPHRASE,
    KEYSTORE_PASSPHRASE,
    Browser,
    Server,
    base_env,
    register_second_client,
    run,
)

import bench_booking
from bench_oidc import REDIRECT_URI, SCOPE, Client

OPERATIONS = {"exchange": "token exchanges/s", "booking": "bookings/s"}
SATURATION_GAIN = 1.05  # a step that adds less than 5 % over the best so far does not count as growth
SLOTS_PER_FACILITY = 1000  # 30-minute slots from tomorrow: about 21 days, inside the 60-day booking window
# The booking load generator's guess of the most bookings/s it could see, to make enough slots for each step.
MAX_BOOKINGS_PER_SECOND = 1500


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))] if ordered else 0.0


def fresh_database(admin_url: str, name: str) -> str:
    """Drop and create ``name`` on the server of ``admin_url``; its URL."""
    parts = urlsplit(admin_url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path="/" + name))


def shared_state_env(redis_url: str | None) -> dict[str, str]:
    if not redis_url:
        return {}
    # Only REDIS_URL: the settings decide what lives there. (Naming a cache alias here could point the counters at
    # Django's default per-process LocMemCache on a commit whose settings do not read REDIS_URL.)
    return {"REDIS_URL": redis_url}


def where_counters_live(party: str, env: dict[str, str], data: Path) -> str:
    """Ask the party's settings (as its server would read them) where rate-limit counters live."""
    probe = (
        "import django, os; django.setup(); from django.conf import settings; "
        "alias = getattr(settings, 'ANCHORID_RATELIMIT_CACHE', None); "
        "caches = getattr(settings, 'CACHES', {}); "
        "print(f\"cache {alias!r}: {caches[alias]['BACKEND']}\" if alias and alias in caches "
        "else f\"the party's database ({settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})\")"
    )
    package = {"providers": "providersim"}.get(party, party)
    probe_env = {**env, "DJANGO_SETTINGS_MODULE": f"anchorid.{package}.settings", "ANCHORID_DATA_DIR": str(data)}
    done = subprocess.run([PYTHON, "-c", probe], env=probe_env, capture_output=True, text=True)
    return done.stdout.strip() or f"unknown ({done.stderr.strip().splitlines()[-1:]})"


# --- the two parties --------------------------------------------------------------------------------------------


def prepare_idp(root: Path, database_url: str, shared: dict[str, str]) -> tuple[Server, Server, dict[str, Any]]:
    """jlis (SQLite) and the idp (PostgreSQL) set up; a bench client; a resident onboarded who consented once.
    Returns (jlis running, idp stopped, the load generator's client set-up)."""
    env = base_env()
    jlis = Server("jlis", f"http://127.0.0.1:{free_port()}", root / "jlis", dict(env))
    idp_url = f"http://localhost:{free_port()}"
    idp_env = dict(env, DATABASE_URL=database_url, ANCHORID_KEYSTORE_PASSPHRASE=KEYSTORE_PASSPHRASE,
                   ANCHORID_JLIS_URL=jlis.url, ANCHORID_IDP_ORIGIN=idp_url, ANCHORID_LOG_LEVEL="ERROR",
                   ANCHORID_RATE_LIMITS=json.dumps({"login-ip": [100000, 60]}), **shared)  # fmt: skip
    idp = Server("idp", idp_url, root / "idp", idp_env)
    run("jlis", "seed", "--data", str(jlis.data), "--residents", "4", "--cards-dir", str(root / "cards"),
        "--seed", "11", env=jlis.env)  # fmt: skip
    cards = json.loads((root / "cards" / "INDEX.json").read_text())["cards"]
    jlis.start("/ca/sign.cer")
    idp.data.mkdir(parents=True)
    jwk = idp.data / "jlis-operator.jwk.json"
    run("idp", "jlis-setup", "--data", str(idp.data), "--jlis", jlis.url, "--jwk-out", str(jwk), env=idp.env)
    run("jlis", "operator", "add", "--data", str(jlis.data), "--name", "anchorid-idp", "--jwk", str(jwk),
        env=jlis.env)  # fmt: skip
    register_second_client(root / "second-rp", idp)
    config = json.loads((root / "second-rp" / "config.json").read_text())
    run("idp", "client", "add", "--data", str(idp.data), "--client-id", "bench",
        "--jwks", str(root / "second-rp" / "jwks.json"), "--redirect-uri", REDIRECT_URI, "--scopes", SCOPE,
        env=idp.env)  # fmt: skip
    idp.start("/.well-known/openid-configuration")
    try:
        browser = Browser(idp.url)
        browser.onboard(next(card for card in cards if card["has_signature_certificate"]))
        setup: dict[str, Any] = {"issuer": idp.url, "client_id": "bench", "client_jwk": config["client_jwk"]}
        setup["metadata"] = requests.get(f"{idp.url}/.well-known/openid-configuration", timeout=10).json()
        setup["cookie"] = "; ".join(f"{c.name}={c.value}" for c in browser.http.cookies)
        first = Client(setup)
        status, _, data = first.post_signed(setup["metadata"]["pushed_authorization_request_endpoint"], {
            "response_type": "code", "redirect_uri": REDIRECT_URI, "scope": SCOPE, "code_challenge": "x" * 43,
            "code_challenge_method": "S256"})  # fmt: skip
        assert status == 201, data
        query = urlencode({"client_id": "bench", "request_uri": json.loads(data)["request_uri"]})
        browser.authorize(f"{setup['metadata']['authorization_endpoint']}?{query}", REDIRECT_URI)  # consent, once
    finally:
        idp.stop()
    return jlis, idp, setup


def prepare_city(root: Path, database_url: str, clients: int) -> list[str]:
    """The city's database migrated and set up (in this process: Django with the city's settings); ``clients``
    logged-in residents' session cookies."""
    bench_booking.setup_django(root / "city", database_url)
    cookies = bench_booking.residents(clients, "scaling")
    from django.db import connections

    connections.close_all()
    return cookies


def make_slots(count: int, tag: str) -> list[int]:
    ids: list[int] = []
    for facility in range(math.ceil(count / SLOTS_PER_FACILITY)):
        ids += bench_booking.slots(min(SLOTS_PER_FACILITY, count - len(ids)), f"{tag}-{facility}")
    from django.db import connections

    connections.close_all()
    return ids


# --- closed-loop clients ----------------------------------------------------------------------------------------


def _exchange_client(setup: dict[str, Any], plan: Any, ready: Any, seconds: float, out: Any) -> None:
    client = Client(setup)
    tokens = client.login()  # a grant of its own; warms the connection and learns the DPoP nonce
    if tokens is None:
        ready.abort()
        out.put((0, 1, [], 0.0))
        return
    refresh_token = tokens["refresh_token"]
    _closed_loop(lambda: client.exchange(refresh_token) is not None, ready, seconds, out)


def _booking_client(url: str, plan: Any, ready: Any, seconds: float, out: Any) -> None:
    cookie, slot_ids = plan
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {"Cookie": f"city_sessionid={cookie}; city_csrftoken={bench_booking.CSRF}",
               "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
    connection.request("GET", "/booking/", headers=headers)
    connection.getresponse().read()
    remaining = iter(slot_ids)

    def book() -> bool:
        slot = next(remaining, None)
        if slot is None:
            raise RuntimeError("the client ran out of slots: raise MAX_BOOKINGS_PER_SECOND")
        connection.request("POST", "/booking/book/", headers=headers,
                           body=urlencode({"slot": slot, "csrfmiddlewaretoken": bench_booking.CSRF}))  # fmt: skip
        response = connection.getresponse()
        response.read()
        return response.status == 302

    _closed_loop(book, ready, seconds, out)


def _closed_loop(operation: Callable[[], bool], ready: Any, seconds: float, out: Any) -> None:
    ready.wait()  # every client of the step connected (and logged in): the window opens for all at once
    done, errors, latencies, end, cpu = 0, 0, [], time.time() + seconds, time.process_time()
    while (began := time.time()) < end:
        ok = operation()
        latencies.append(time.time() - began)
        done, errors = done + ok, errors + (not ok)
    out.put((done, errors, latencies, time.process_time() - cpu))


def step(target: Callable[..., None], first: Any, plans: list[Any], seconds: float) -> dict[str, Any]:
    """One load step: a process per plan, released together for ``seconds``."""
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    ready = context.Barrier(len(plans))
    processes = [context.Process(target=target, args=(first, plan, ready, seconds, out)) for plan in plans]
    for process in processes:
        process.start()
    results = [out.get(timeout=seconds + 180) for _ in processes]
    for process in processes:
        process.join()
    latencies = [value for _, _, values, _ in results for value in values]
    return {
        "clients": len(plans),
        "rate": sum(done for done, _, _, _ in results) / seconds,
        "errors": sum(errors for _, errors, _, _ in results),
        "p50_ms": 1000 * statistics.median(latencies) if latencies else 0.0,
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "generator_cores": sum(cpu for _, _, _, cpu in results) / seconds,
    }


def serve(server: Server, workers: int) -> subprocess.Popen[bytes]:
    """A fresh ``anchorid serve`` process of ``server`` with ``workers`` Granian workers, answering."""
    port = server.url.rsplit(":", 1)[1]
    log = (server.data.parent / f"{server.name}-{workers}.log").open("ab")
    process = subprocess.Popen([PYTHON, "-m", "anchorid.cli", "serve", server.name, "--port", port,
                                "--data", str(server.data), "--workers", str(workers)],
                               env=server.env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    health = "/.well-known/openid-configuration" if server.name == "idp" else "/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(server.url + health, timeout=10).status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{server.name} --workers {workers} did not start")


def stop(process: subprocess.Popen[bytes], server: Server) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    server._wait_until_port_closed()


def run_operation(operation: str, server: Server, workers: int, levels: list[int], args: argparse.Namespace,
                  first: Any, cookies: list[str]) -> list[dict[str, Any]]:  # fmt: skip
    """Warm-up, then load steps until saturation, on a fresh server process."""
    process = serve(server, workers)
    try:

        def plans(clients: int, seconds: float, tag: str) -> list[Any]:
            if operation == "exchange":
                return [None] * clients
            per_client = math.ceil(MAX_BOOKINGS_PER_SECOND * seconds / clients) + 10
            ids = make_slots(per_client * clients, tag)
            return [(cookies[i], ids[i * per_client : (i + 1) * per_client]) for i in range(clients)]

        target = _exchange_client if operation == "exchange" else _booking_client
        tag = f"w{workers}-{time.monotonic_ns()}"
        step(target, first, plans(levels[-1], args.warmup, f"{tag}-warm"), args.warmup)  # discarded
        results: list[dict[str, Any]] = []
        flat = 0
        for clients in levels:
            result = step(target, first, plans(clients, args.seconds, f"{tag}-{clients}"), args.seconds)
            best = max((r["rate"] for r in results), default=0.0)
            results.append(result)
            print(f"  {operation:8} workers {workers}  clients {clients:3}  {result['rate']:8.1f}/s  "
                  f"p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:7.1f} ms  ({result['errors']} failed; "
                  f"load generator {result['generator_cores']:.2f} cores)", flush=True)  # fmt: skip
            flat = flat + 1 if result["rate"] < best * SATURATION_GAIN else 0
            if flat >= 2:
                break
        return results
    finally:
        stop(process, server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432",
                        help="the PostgreSQL server (its own databases are made there)")  # fmt: skip
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"), help="passed to the servers")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--clients", default="1,2,4,8,16,32", help="load steps: closed-loop client processes")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each load step")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only", choices=list(OPERATIONS))
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    levels = [int(c) for c in args.clients.split(",")]
    operations = [args.only] if args.only else list(OPERATIONS)
    os.environ.setdefault("ANCHORID_JLIS_CA_PASSPHRASE", JLIS_CA_PASSPHRASE)
    shared = shared_state_env(args.redis_url)

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO)
    root = Path(tempfile.mkdtemp(prefix="bench-scaling-"))
    idp_db = fresh_database(args.database_url, "anchorid_bench_scaling_idp")
    city_db = fresh_database(args.database_url, "anchorid_bench_scaling_city")
    jlis, idp, setup = prepare_idp(root, idp_db, shared)
    clean = base_env()  # before this process sets up Django for the city
    try:
        cookies = prepare_city(root, city_db, max(levels))
        city_url = f"http://127.0.0.1:{free_port()}"
        city = Server("city", city_url, root / "city", dict(clean, DATABASE_URL=city_db, ANCHORID_CITY_ORIGIN=city_url,
                      ANCHORID_LOG_LEVEL="ERROR", ANCHORID_INSECURE_COOKIES="1", **shared))  # fmt: skip
        counters = {name: where_counters_live(name, server.env, server.data) for name, server in
                    (("idp", idp), ("city", city))}  # fmt: skip
        peaks: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for repeat in range(args.repeats):
            order = workers if repeat % 2 == 0 else list(reversed(workers))
            for count in order:
                for operation in operations:
                    server = idp if operation == "exchange" else city
                    results = run_operation(operation, server, count, levels, args, setup if operation == "exchange"
                                            else city_url, cookies)  # fmt: skip
                    peak = max(results, key=lambda r: r["rate"])
                    peaks.setdefault((operation, count), []).append(peak)
    finally:
        jlis.stop()
        shutil.rmtree(root, ignore_errors=True)  # the databases stay until the next run (row sizes: docs/capacity.md)

    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\n## Scaling with workers ({today()}; {machine()}; commit {commit.stdout.strip()}; load average at the "
          f"end {load})\n")  # fmt: skip
    print(f"PostgreSQL {args.database_url}; REDIS_URL {'passed: ' + args.redis_url if args.redis_url else 'not set'};"
          f" rate-limit counters: idp {counters['idp']}, city {counters['city']}.")  # fmt: skip
    print(f"`.venv/bin/python benchmarks/bench_scaling.py --workers {args.workers} --clients {args.clients} "
          f"--seconds {args.seconds:g} --warmup {args.warmup:g} --repeats {args.repeats}`\n")  # fmt: skip
    print("| operation | workers | peak (median of runs) | × 1 worker | clients at peak | p50 at peak | p99 at peak "
          "| runs' peaks |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for operation in operations:
        base = statistics.median(p["rate"] for p in peaks[(operation, workers[0])])
        for count in workers:
            runs = peaks[(operation, count)]
            middle = sorted(runs, key=lambda p: p["rate"])[(len(runs) - 1) // 2]
            rate = statistics.median(p["rate"] for p in runs)
            each = ", ".join(f"{p['rate']:.0f}" for p in runs)
            print(f"| {OPERATIONS[operation]} | {count} | {rate:.0f} | {rate / base:.2f} | {middle['clients']} | "
                  f"{middle['p50_ms']:.1f} ms | {middle['p99_ms']:.1f} ms | {each} |")  # fmt: skip


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
