"""The participation platform (issue #15): votes per second over HTTP beside the framework's ceiling, and the results
page of a vote with 100,000 ballots.

    .venv/bin/python benchmarks/bench_participation.py [--clients 8] [--votes 1600] [--repeats 3] [--workers 2]
                                                       [--database-url URL] [--ballots 100000]

One Granian server with ``--workers`` workers (as ``anchorid serve`` runs it) serving the platform's own settings and
URLs plus one benchmark view (``participation_ceiling.py``): a POST through the same middleware doing one INSERT in a
transaction — the framework's ceiling, measured in the same run, alternating with the votes in each repeat.

1. Votes: ``--votes`` residents, each with a logged-in session (made here, as the login callback leaves it) and a
   CSRF cookie, split between ``--clients`` client processes; each request is the vote button's POST
   ``/processes/bench/vote/`` with a valid participatory-budget basket: the permission and phase checks (from the
   worker's snapshot of the process), the knapsack rules, the voter row and the ballot row (upserted by its replace
   tag) in one statement on PostgreSQL, then the redirect to the receipt page (its GET is a page view like the
   results page, measured in 3). Votes/s.
2. Ceiling: the same number of POSTs to ``/bench/one-insert/``. Requests/s.
3. Results page: a process with ``--ballots`` ballots, closed (the published document and its result computed once,
   timed too), then ``GET /processes/big/results/`` rendered from the published result; pages/s.

Beside each rate, the server's CPU-seconds per request (its worker processes' user + system time, from /proc, over
the requests of that step): unlike the rates, this stays meaningful on a busy machine. The vote's statements are
pinned by tests/participation/test_vote_statements.py (the session's read, then one statement on PostgreSQL; BEGIN,
two INSERTs, COMMIT on SQLite; the ceiling: BEGIN, INSERT, COMMIT).

Servers and clients share the machine's cores: figures are floors. Medians of the repeats.

On a quiet machine (nothing else running; the figures in docs/performance.md), SQLite then PostgreSQL:

    .venv/bin/python benchmarks/bench_participation.py
    createdb -h 127.0.0.1 -U postgres bench_participation
    .venv/bin/python benchmarks/bench_participation.py --database-url postgres://postgres@127.0.0.1:5432/bench_participation

A smoke run (seconds; proves the script works, its figures mean nothing):

    .venv/bin/python benchmarks/bench_participation.py --votes 40 --clients 2 --repeats 1 --ballots 2000 --pages 20
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
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from common import PYTHON, free_port, machine, server, today

CSRF = secrets.token_hex(16)
HERE = Path(__file__).resolve().parent


def setup_django(data: Path, database_url: str | None) -> None:
    os.environ.update(ANCHORID_DATA_DIR=str(data), DJANGO_SETTINGS_MODULE="participation_ceiling",
                      ANCHORID_INSECURE_COOKIES="1", ANCHORID_LOG_LEVEL="ERROR")  # fmt: skip
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH", "")]))
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    subprocess.run([PYTHON, "-m", "anchorid.cli", "participation", "setup", "--data", str(data), "--idp",
                    "http://localhost:9"], check=True, capture_output=True)  # fmt: skip
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def make_process(slug: str, *, selected: int = 4) -> tuple[int, list[int]]:
    from anchorid.participation import service
    from anchorid.participation.models import Process, Proposal

    process = Process.objects.create(slug=slug, title=slug, vote_kind="budget", budget_total=10_000, max_choices=2,
                                     budget_min_percent=50)  # fmt: skip
    made = Proposal.objects.bulk_create(
        Proposal(process=process, title=f"project {i}", body="b", author_key="k", author_assurance="resident",
                 author_label="bench", cost=3_000, status="selected") for i in range(selected)
    )  # fmt: skip
    service.set_phase(process, "vote", "bench")
    return process.pk, [p.pk for p in made]


def sessions(count: int, tag: str) -> list[str]:
    """``count`` residents logged in with AnchorID; their session cookies."""
    from django.contrib.sessions.backends.db import SessionStore

    from anchorid.participation.identity import LOGIN_KEY

    cookies = []
    for i in range(count):
        session = SessionStore()
        session[LOGIN_KEY] = {"sub": f"bench-{tag}-{i}", "claims": {"resident_of": "142042"}, "id_token": "x"}
        session.create()
        cookies.append(str(session.session_key))
    return cookies


def client(args: tuple[str, str, list[tuple[str, str]], Any]) -> Counter[int]:
    """One client process on one kept-alive connection: each (cookie, body) in turn; the status codes seen."""
    url, path, plan, start = args
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    seen: Counter[int] = Counter()
    start.wait()
    for cookie, body in plan:
        headers = {"Cookie": f"participation_sessionid={cookie}; participation_csrftoken={CSRF}",
                   "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
        connection.request("POST" if body else "GET", path, body=body or None, headers=headers)
        response = connection.getresponse()
        response.read()
        seen[response.status] += 1
    connection.close()
    return seen


def run_clients(url: str, path: str, plans: list[list[tuple[str, str]]]) -> tuple[float, Counter[int]]:
    manager = multiprocessing.Manager()
    start = manager.Event()
    with multiprocessing.Pool(len(plans)) as pool:
        pending = pool.map_async(client, [(url, path, plan, start) for plan in plans])
        time.sleep(1.0)
        began = time.perf_counter()
        start.set()
        results = pending.get(timeout=1800)
        elapsed = time.perf_counter() - began
    total: Counter[int] = Counter()
    for seen in results:
        total.update(seen)
    return elapsed, total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and every process under it (the server's workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(children.get(current, []))
    return total


def big_vote(ballots: int) -> float:
    """A closed process with ``ballots`` ballots (written directly); seconds to publish (count, sign, store)."""
    from anchorid.participation import service
    from anchorid.participation.models import Ballot, Process

    process_id, options = make_process("big", selected=6)
    kinds = ("resident", "anchorid", "anonymous")
    batch = []
    for i in range(ballots):
        batch.append(Ballot(ballot_id=secrets.token_hex(16), process_id=process_id, assurance=kinds[i % 3],
                            choices=sorted({options[i % 6], options[(i * 7 + 1) % 6]})))  # fmt: skip
        if len(batch) == 5000:
            Ballot.objects.bulk_create(batch)
            batch = []
    Ballot.objects.bulk_create(batch)
    began = time.perf_counter()
    service.set_phase(Process.objects.get(pk=process_id), "results", "bench")
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, help="client processes sending requests (default 8)")
    parser.add_argument("--votes", type=int, default=1600, help="residents voting per repeat (default 1600)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats; medians are printed (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (default 2)")
    parser.add_argument("--ballots", type=int, default=100_000, help="ballots of the results-page vote (100,000)")
    parser.add_argument("--pages", type=int, default=400, help="results-page requests per repeat (default 400)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL (an empty database); default SQLite")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="bench-participation-")) / "participation"
    data.mkdir(parents=True)
    setup_django(data, args.database_url)
    from django.db import connections

    from anchorid.participation.models import Ballot

    publish_seconds = big_vote(args.ballots)
    connections.close_all()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ANCHORID_PARTICIPATION_ORIGIN": url}
    command = [PYTHON, "-m", "granian", "--interface", "wsgi", "--workers", str(args.workers), "--host", "127.0.0.1",
               "--port", str(port), "--no-access-log", "anchorid.participation.wsgi:application"]  # fmt: skip
    votes, ceiling, pages = [], [], []
    cpu: dict[str, list[float]] = {"votes": [], "ceiling": [], "pages": []}
    with server(command, port, env=env) as proc:
        # Warm-up (not timed): each worker's first requests import modules, load the URLs and the catalogues.
        warm = sessions(args.clients * 10, "warm")
        connections.close_all()
        warm_body = urlencode({"csrfmiddlewaretoken": CSRF})
        run_clients(url, "/bench/one-insert/", [[(c, warm_body) for c in warm[i :: args.clients]]
                                                for i in range(args.clients)])  # fmt: skip
        run_clients(url, "/processes/big/results/", [[(warm[0], "")] * 10 for _ in range(args.clients)])

        def timed(name: str, count: int, path: str, plans: list[list[tuple[str, str]]]) -> tuple[float, Counter[int]]:
            before = cpu_seconds(proc.pid)
            seconds, codes = run_clients(url, path, plans)
            cpu[name].append((cpu_seconds(proc.pid) - before) / count)
            return seconds, codes

        for repeat in range(args.repeats):
            process_id, options = make_process(f"bench-{repeat}")
            cookies = sessions(args.votes, f"r{repeat}")
            connections.close_all()
            body = urlencode([("option", options[0]), ("option", options[1]), ("csrfmiddlewaretoken", CSRF)])
            plans = [[(cookie, body) for cookie in cookies[i :: args.clients]] for i in range(args.clients)]
            seconds, codes = timed("votes", args.votes, f"/processes/bench-{repeat}/vote/", plans)
            assert codes == Counter({302: args.votes}), codes  # to the receipt page (POST, redirect, GET)
            assert Ballot.objects.filter(process_id=process_id).count() == args.votes
            votes.append(args.votes / seconds)

            ceiling_body = urlencode({"csrfmiddlewaretoken": CSRF})
            plans = [[(cookie, ceiling_body) for cookie in cookies[i :: args.clients]] for i in range(args.clients)]
            seconds, codes = timed("ceiling", args.votes, "/bench/one-insert/", plans)
            assert codes == Counter({200: args.votes}), codes
            ceiling.append(args.votes / seconds)

            plans = [[(cookies[0], "")] * (args.pages // args.clients) for _ in range(args.clients)]
            seconds, codes = timed("pages", args.pages // args.clients * args.clients, "/processes/big/results/", plans)
            assert codes == Counter({200: args.pages // args.clients * args.clients}), codes
            pages.append(args.pages // args.clients * args.clients / seconds)
            connections.close_all()
            print(f"repeat {repeat + 1}: votes {votes[-1]:.0f}/s, ceiling {ceiling[-1]:.0f}/s "
                  f"({votes[-1] / ceiling[-1]:.0%}), results page {pages[-1]:.0f}/s", file=sys.stderr)  # fmt: skip

    from django.db import connection

    database = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite (WAL)"
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    ratios = [v / c for v, c in zip(votes, ceiling, strict=True)]
    print(f"# bench_participation: {today()}; {machine()}; load average at the end {load}")
    print(f"# {database}; Granian with {args.workers} workers; {args.clients} client processes; "
          f"{args.repeats} repeats (median)")  # fmt: skip
    ms = {name: statistics.median(values) * 1000 for name, values in cpu.items()}
    print(f"votes: {statistics.median(votes):.0f} votes/s over HTTP ({args.votes} residents, one ballot each); "
          f"server CPU {ms['votes']:.2f} ms per vote")  # fmt: skip
    print(f"ceiling (same middleware, one INSERT in a transaction): {statistics.median(ceiling):.0f} requests/s; "
          f"server CPU {ms['ceiling']:.2f} ms per request "
          f"(vote / ceiling CPU: {ms['votes'] / ms['ceiling']:.2f})")  # fmt: skip
    print(f"votes / ceiling: {statistics.median(ratios):.0%} (per repeat: "
          f"{', '.join(f'{r:.0%}' for r in ratios)})")  # fmt: skip
    print(f"results page, {args.ballots:,} ballots, from the published result: {statistics.median(pages):.0f} pages/s "
          f"(server CPU {ms['pages']:.2f} ms per page); "
          f"publishing (count, sign, store) took {publish_seconds:.1f} s once")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
