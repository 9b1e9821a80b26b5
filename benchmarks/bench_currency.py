"""The local currency (issue #14): ledger transfers/s beside the raw-SQL limit, and QR payments/s over HTTP.

    .venv/bin/python benchmarks/bench_currency.py [--transfers 2000] [--repeats 3] [--database-url URL]
                                                  [--payments 1500] [--clients 4,8,16,32] [--workers 2]
                                                  [--skip-http] [--skip-ledger]

1. The ledger in one process, one thread, on SQLite (WAL, the party's settings) or the PostgreSQL database named
   by ``--database-url`` (it must exist; the script migrates it):
   - raw-SQL limit: the fewest statements that move money correctly, one ``INSERT`` and two guarded ``UPDATE``s in
     one transaction, through the same Django connection (same driver): on the ledger's own tables (same columns
     and indexes) and on two bare tables (an id and a balance) of the same database;
   - the ledger service (``create_transfers``) between guarded accounts without lots: single (one transaction per
     transfer) and batched (100 per call, linked in pairs: each pair all or nothing);
   - between wallets (lots: earliest expiry first), single and batched, for what lots cost.
   The ratio ledger / raw is measured side by side in the same run (medians of the repeats).
2. QR payments over HTTP: ``anchorid serve currency --workers N`` (Granian), client processes each a logged-in
   resident paying the same approved merchant's static QR (``POST /pay/<token>/``: the pending transfer and its
   post as one linked chain, and the payment row, in one transaction). The load is raised: every client count of
   ``--clients`` in turn (``--payments`` each time, ``--repeats`` runs), each level's median payments/s and the
   server's CPU per payment printed, then the plateau (the best level, and the levels within 5 % of it). On
   PostgreSQL, what the server's backends were doing (``pg_stat_activity`` sampled every 10 ms: running, waiting
   for a lock, for the WAL flush, or for the application's next statement). Skipped with ``--skip-http``.

The machine's cores are shared by server and clients: figures are floors.

Rerunning the published figures (docs/performance.md) on a quiet machine, both databases, 2 server workers (the
PostgreSQL database must exist and be empty):

    .venv/bin/python benchmarks/bench_currency.py --transfers 2000 --repeats 3 --payments 3000 --workers 2 \
        --clients 4,8,16,32
    createdb -h 127.0.0.1 -U postgres bench_currency
    .venv/bin/python benchmarks/bench_currency.py --transfers 2000 --repeats 3 --payments 3000 --workers 2 \
        --clients 4,8,16,32 --database-url postgres://postgres@127.0.0.1:5432/bench_currency

A quick check that the script works: ``--transfers 200 --repeats 1 --payments 40 --clients 2``. What one
operation costs in SQL statements is pinned by tests/currency/test_statements.py (a transfer: 2 statements beside
the raw limit's 3; a linked batch of 100: 101; a QR payment over HTTP: 11 besides transaction control).
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from common import PYTHON, free_port, machine, server, today

CSRF = secrets.token_hex(16)


def setup_django(data: Path, database_url: str | None) -> None:
    os.environ.update(
        ANCHORID_DATA_DIR=str(data),
        DJANGO_SETTINGS_MODULE="anchorid.currency.settings",
        ANCHORID_INSECURE_COOKIES="1",
        ANCHORID_LOG_LEVEL="ERROR",
    )
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    subprocess.run([PYTHON, "-m", "anchorid.cli", "currency", "setup", "--data", str(data), "--idp",
                    "http://localhost:9"], check=True, capture_output=True)  # fmt: skip


def raw_limit(count: int, batch: int, tag: str, *, ledger_tables: bool) -> tuple[float, float]:
    """One INSERT and two guarded UPDATEs per transfer; ``batch`` transfers per transaction. On the ledger's own
    tables (same columns and indexes as the service writes) or on two bare tables (an id and a balance)."""
    from django.db import connection, transaction
    from django.utils import timezone

    if ledger_tables:
        ids = accounts(f"raw-{tag}", lots=False)
        insert = (
            "INSERT INTO currency_ledger_transfer (id, debit_account_id, credit_account_id, amount, code, kind, "
            "pending_id, state, timeout_at, lots, memo, body_digest, created_at) VALUES (%s, %s, %s, %s, 0, "
            "'single', '', '', NULL, '', '', %s, %s)"
        )
        debit_sql = (
            "UPDATE currency_ledger_account SET debits_posted = debits_posted + %s WHERE id = %s AND "
            "credits_posted - debits_posted - debits_pending >= %s"
        )
        credit_sql = "UPDATE currency_ledger_account SET credits_posted = credits_posted + %s WHERE id = %s"
    else:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS bench_account (id integer PRIMARY KEY, balance bigint)")
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS bench_transfer (id varchar(64) PRIMARY KEY, debit integer, "
                "credit integer, amount bigint, digest varchar(64), created_at timestamp)"
            )
            cursor.execute("DELETE FROM bench_account")
            cursor.executemany("INSERT INTO bench_account VALUES (%s, %s)", [(n, 10**9) for n in range(100)])
        ids = list(range(100))
        insert = "INSERT INTO bench_transfer VALUES (%s, %s, %s, %s, %s, %s)"
        debit_sql = "UPDATE bench_account SET balance = balance - %s WHERE id = %s AND balance >= %s"
        credit_sql = "UPDATE bench_account SET balance = balance + %s WHERE id = %s"
    now = timezone.now()
    began, cpu = time.perf_counter(), time.process_time()
    for start in range(0, count, batch):
        with transaction.atomic(), connection.cursor() as cursor:
            for n in range(start, min(start + batch, count)):
                debit, credit = ids[n % 100], ids[(n * 7 + 1) % 100]
                if debit == credit:
                    credit = ids[((n * 7 + 1) + 1) % 100]
                cursor.execute(insert, [f"{tag}-{n}", debit, credit, 1, "0" * 64, now])
                cursor.execute(debit_sql, [1, debit, 1])
                assert cursor.rowcount == 1
                cursor.execute(credit_sql, [1, credit])
    return count / (time.perf_counter() - began), (time.process_time() - cpu) * 1e6 / count


def accounts(tag: str, *, lots: bool) -> list[int]:
    import datetime

    from django.utils import timezone

    from anchorid.currency.ledger import service
    from anchorid.currency.ledger.service import TransferSpec

    source = service.open_account(f"bench:{tag}:source", "issuer")
    made = [
        service.open_account(f"bench:{tag}:{n}", "wallet" if lots else "merchant", guard_debits=True, uses_lots=lots).pk
        for n in range(100)
    ]
    expires = timezone.now() + datetime.timedelta(days=365)
    seed = [TransferSpec(id=f"seed-{tag}-{n}", debit_account=source.pk, credit_account=account, amount=10**6,
                         lot_expires_at=expires if lots else None) for n, account in enumerate(made)]  # fmt: skip
    assert all(result.ok for result in service.create_transfers(seed))
    return made


def ledger_rate(count: int, batch: int, tag: str, *, lots: bool) -> tuple[float, float]:
    """Transfers/s and this process's CPU µs per transfer (on SQLite the database's work is in it too)."""
    from anchorid.currency.ledger import service
    from anchorid.currency.ledger.service import TransferSpec

    ids = accounts(tag, lots=lots)
    specs = []
    for n in range(count):
        debit, credit = ids[n % 100], ids[(n * 7 + 1) % 100]
        if debit == credit:
            credit = ids[((n * 7 + 1) + 1) % 100]
        linked = batch > 1 and n % 2 == 0
        specs.append(TransferSpec(id=f"{tag}-{n}", debit_account=debit, credit_account=credit, amount=1,
                                  linked=linked, carry_lots=lots))  # fmt: skip
    began, cpu = time.perf_counter(), time.process_time()
    for start in range(0, count, batch):
        results = service.create_transfers(specs[start : start + batch])
        assert all(result.status == "created" for result in results), results[:3]
    rate, cpu_us = count / (time.perf_counter() - began), (time.process_time() - cpu) * 1e6 / count
    assert service.check_invariants() == []
    return rate, cpu_us


def members(count: int) -> tuple[list[str], str]:
    from django.contrib.sessions.backends.db import SessionStore

    from anchorid.currency import service
    from anchorid.currency.ledger.models import Account
    from anchorid.currency.login import LOGIN_KEY

    merchant = service.register_merchant("bench-owner", "ベンチ商店", "food")
    service.approve_merchant(merchant)
    cookies = []
    for n in range(count):
        sub = f"bench-{secrets.token_hex(4)}-{n}"
        claims = {"resident_of": service.HOME_MUNICIPALITY}
        member = service.join(sub, claims)
        Account.objects.filter(pk=member.account_id).update(max_balance=None)
        service.charge(member, 1_000_000, f"bench-charge-{sub}")
        session = SessionStore()
        session[LOGIN_KEY] = {"sub": sub, "claims": claims, "id_token": "x"}
        session.create()
        cookies.append(str(session.session_key))
    return cookies, merchant.qr_token


def client(args: tuple[str, str, str, int, Any]) -> Counter[int]:
    url, cookie, token, count, start = args
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {
        "Cookie": f"currency_sessionid={cookie}; currency_csrftoken={CSRF}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    seen: Counter[int] = Counter()
    start.wait()
    for _ in range(count):
        body = urlencode({"amount": "1", "payment_id": f"bp-{secrets.token_hex(8)}", "csrfmiddlewaretoken": CSRF})
        connection.request("POST", f"/pay/{token}/", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        seen[response.status] += 1
    connection.close()
    return seen


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its descendants (Linux ``/proc``): the server's
    cost per payment, which a machine shared with the clients (or other work) does not distort as it does rates."""
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        child = int(stat.parent.name)
        parents[child] = int(fields[1])
        times[child] = int(fields[11]) + int(fields[12])
    tree, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        grew = bool(more)
        tree |= more
    return sum(times.get(member, 0) for member in tree) / os.sysconf("SC_CLK_TCK")


def http_rate(url: str, cookies: list[str], token: str, payments: int) -> float:
    manager = multiprocessing.Manager()
    start = manager.Event()
    share = payments // len(cookies)
    with multiprocessing.Pool(len(cookies)) as pool:
        pending = pool.map_async(client, [(url, cookie, token, share, start) for cookie in cookies])
        time.sleep(1.0)
        began = time.perf_counter()
        start.set()
        results = pending.get(timeout=900)
        elapsed = time.perf_counter() - began
    total: Counter[int] = Counter()
    for seen in results:
        total.update(seen)
    assert total == Counter({302: share * len(cookies)}), total
    return share * len(cookies) / elapsed


def ledger_figures(args: argparse.Namespace) -> None:
    """Part 1: the ledger beside the raw-SQL limit, side by side in one run; medians of the repeats."""
    from django.db import connection

    rates: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    for repeat in range(args.repeats):
        for name, run in (
            ("raw SQL, bare tables, single",
             lambda r=repeat: raw_limit(args.transfers, 1, f"bs{r}", ledger_tables=False)),
            ("raw SQL, ledger tables, single",
             lambda r=repeat: raw_limit(args.transfers, 1, f"rs{r}", ledger_tables=True)),
            ("ledger, single", lambda r=repeat: ledger_rate(args.transfers, 1, f"ls{r}", lots=False)),
            ("raw SQL, bare tables, batch 100",
             lambda r=repeat: raw_limit(args.transfers, 100, f"bb{r}", ledger_tables=False)),
            ("raw SQL, ledger tables, batch 100",
             lambda r=repeat: raw_limit(args.transfers, 100, f"rb{r}", ledger_tables=True)),
            ("ledger, batch 100 linked in pairs",
             lambda r=repeat: ledger_rate(args.transfers, 100, f"lb{r}", lots=False)),
            ("ledger, wallets with lots, single", lambda r=repeat: ledger_rate(args.transfers, 1, f"ws{r}", lots=True)),
            ("ledger, wallets with lots, batch 100",
             lambda r=repeat: ledger_rate(args.transfers, 100, f"wb{r}", lots=True)),
        ):  # fmt: skip
            rate, cpu_us = run()
            rates.setdefault(name, []).append(rate)
            cpus.setdefault(name, []).append(cpu_us)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    cpu = {name: statistics.median(values) for name, values in cpus.items()}
    print(
        f"# bench_currency {today()} on {machine()}, {connection.vendor}, {args.transfers} transfers x {args.repeats}"
    )
    for name, value in medians.items():
        print(f"{name:40s} {value:10.0f} /s   (runs: {', '.join(f'{v:.0f}' for v in rates[name])}); "
              f"CPU {cpu[name]:.0f} µs per transfer")  # fmt: skip
    for kind in ("ledger tables", "bare tables"):
        single = medians["ledger, single"] / medians[f"raw SQL, {kind}, single"]
        batched = medians["ledger, batch 100 linked in pairs"] / medians[f"raw SQL, {kind}, batch 100"]
        print(f"ratio ledger/raw ({kind}): single {single:.2f}, batch {batched:.2f}")
    # On a shared machine the rates follow the other load; the CPU this process spent per transfer much less so
    # (on SQLite it includes the database's work; on PostgreSQL the server's CPU is not in it).
    single = cpu["raw SQL, ledger tables, single"] / cpu["ledger, single"]
    batched = cpu["raw SQL, ledger tables, batch 100"] / cpu["ledger, batch 100 linked in pairs"]
    print(f"ratio ledger/raw (ledger tables) by this process's CPU per transfer: single {single:.2f}, "
          f"batch {batched:.2f}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transfers", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--payments", type=int, default=1500)
    parser.add_argument("--clients", default="4,8,16,32", help="client counts, e.g. 4,8,16,32")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-ledger", action="store_true", help="the HTTP payments only")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-currency-"))
    data = folder / "currency"
    setup_django(data, args.database_url)
    from django.db import connections

    if not args.skip_ledger:
        ledger_figures(args)
    else:
        print(f"# bench_currency {today()} on {machine()}, {connections['default'].vendor}")
    if args.skip_http:
        return 0
    levels = client_levels(args.clients)
    cookies, token = members(max(levels))
    connections.close_all()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ANCHORID_CURRENCY_ORIGIN": url}
    command = [PYTHON, "-m", "anchorid.cli", "serve", "currency", "--port", str(port), "--data", str(data)]
    medians_by_level: dict[int, float] = {}
    with server([*command, "--workers", str(args.workers)], port, env=env) as process:
        for clients in levels:
            http_rates, cpu_ms = [], []
            waits: Counter[str] = Counter()
            for _ in range(args.repeats):
                before = tree_cpu_seconds(process.pid)
                with wait_events(args.database_url) as seen:
                    http_rates.append(http_rate(url, cookies[:clients], token, args.payments))
                waits.update(seen)
                paid = args.payments // clients * clients
                cpu_ms.append((tree_cpu_seconds(process.pid) - before) * 1000 / paid)
            rate, cpu = statistics.median(http_rates), statistics.median(cpu_ms)
            medians_by_level[clients] = rate
            runs = ", ".join(f"{v:.0f}" for v in http_rates)
            print(f"QR payments over HTTP, {args.workers} workers, {clients:2d} clients: {rate:4.0f} /s "
                  f"(runs: {runs}); server CPU {cpu:.1f} ms per payment (at most {1000 * args.workers / cpu:.0f}/s "
                  f"on {args.workers} free cores)", flush=True)  # fmt: skip
            if waits:
                total = sum(waits.values())
                shares = ", ".join(f"{name} {100 * n / total:.0f} %" for name, n in waits.most_common(6))
                print(f"    PostgreSQL backends of the server, sampled every 10 ms: {shares}", flush=True)
    best = max(medians_by_level, key=lambda level: medians_by_level[level])
    plateau = [level for level, rate in medians_by_level.items() if rate >= 0.95 * medians_by_level[best]]
    print(f"QR payments over HTTP, plateau: {medians_by_level[best]:.0f} /s at {best} clients "
          f"(within 5 % of it at {', '.join(str(level) for level in plateau)} clients)")  # fmt: skip
    return 0


def client_levels(raw: str) -> list[int]:
    """``--clients 4,8,16,32``: the client counts the HTTP payments are measured at, in rising order."""
    levels = sorted({int(part) for part in raw.split(",") if part.strip()})
    if not levels or levels[0] < 1:
        raise SystemExit("--clients: one or more positive counts, e.g. 4,8,16,32")
    return levels


@contextmanager
def wait_events(database_url: str | None) -> Iterator[Counter[str]]:
    """On PostgreSQL: what the server's backends are doing while a run lasts (``pg_stat_activity`` sampled every
    10 ms from a thread of this process, on its own connection): CPU (``running``), a lock (``Lock:tuple``...),
    the commit's WAL flush (``IO:WALSync``...), the client (``Client:ClientRead``: waiting for the next statement)."""
    seen: Counter[str] = Counter()
    if not database_url:
        yield seen
        return
    import psycopg

    stop = threading.Event()

    def sample() -> None:
        with psycopg.connect(database_url, autocommit=True) as sampler:
            while not stop.is_set():
                rows = sampler.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity WHERE datname = "
                    "current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                ).fetchall()
                for state, kind, event in rows:
                    if state == "idle":
                        continue  # between transactions
                    seen[f"{kind}:{event}" if kind else "running"] += 1
                time.sleep(0.01)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join()


if __name__ == "__main__":
    sys.exit(main())
