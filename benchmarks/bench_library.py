"""The e-library (issue #16): catalogue search over 100,000 titles, and loans per second over HTTP beside the
framework's ceiling in the same run.

    .venv/bin/python benchmarks/bench_library.py [--titles 100000] [--queries 300] [--clients 4] [--loans 400]
                                                 [--workers 2] [--database-url URL]

1. Search: ``--titles`` synthetic titles (kanji titles with kana readings and authors) in the library's database,
   indexed as the catalogue indexes them (FTS5 trigram on SQLite, pg_trgm on PostgreSQL); ``--queries`` queries
   through ``catalogue.search`` (the page's path without HTTP): readings in hiragana (3–5 characters), kanji words
   of two characters (below a trigram: LIKE alone) and of three or more, authors; median and p99 per query.
2. Loans over HTTP: a real ``anchorid serve library --workers N`` (Granian); ``--clients`` processes, each a
   logged-in patron on a kept-alive connection, each borrowing its share of ``--loans`` titles (simultaneous-use
   licences, so every borrow succeeds: a 302 to the reader) — loans/s. Beside it, in the same run and with the same
   clients, the framework's ceiling: ``GET /healthz`` (Django's full middleware stack, no database) — requests/s.

Servers and clients share the machine's cores: figures are floors.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from common import PYTHON, free_port, machine, server, today

CSRF = secrets.token_hex(16)
WORDS_TEXT = (
    "海:うみ 空:そら 星:ほし 森:もり 川:かわ 山:やま 花:はな 風:かぜ 月:つき 雪:ゆき "
    "鳥:とり 道:みち 夢:ゆめ 光:ひかり 街:まち 島:しま 雨:あめ 声:こえ 旅:たび 窓:まど"
)
WORDS = [(pair.split(":")[0], pair.split(":")[1]) for pair in WORDS_TEXT.split()]
ENDINGS = [("の物語", "のものがたり"), ("の手紙", "のてがみ"), ("の日記", "のにっき"), ("を編む人", "をあむひと"),
           ("の図書室", "のとしょしつ"), ("と私", "とわたし")]  # fmt: skip
FAMILY = [("浜野", "はまの"), ("谷口", "たにぐち"), ("小町", "こまち"), ("織部", "おりべ"), ("佐倉", "さくら")]


def setup_django(data: Path, database_url: str | None) -> None:
    os.environ.update(ANCHORID_DATA_DIR=str(data), DJANGO_SETTINGS_MODULE="anchorid.library.settings",
                      ANCHORID_INSECURE_COOKIES="1", ANCHORID_LOG_LEVEL="ERROR")  # fmt: skip
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    # anchorid serve library refuses to start without its relying-party configuration; nobody logs in through the
    # idp here (the patrons' sessions are made below), so an unreachable idp will do.
    subprocess.run([PYTHON, "-m", "anchorid.cli", "library", "setup", "--data", str(data), "--idp",
                    "http://localhost:9"], check=True, capture_output=True)  # fmt: skip


def make_titles(count: int) -> None:
    from django.db import connection

    from anchorid.library import catalogue
    from anchorid.library.models import Title

    rng = random.Random(16)
    batch: list[Title] = []
    for i in range(count):
        (w1, r1), (w2, r2) = rng.sample(WORDS, 2)
        ending, reading = rng.choice(ENDINGS)
        family, family_reading = rng.choice(FAMILY)
        title = Title(title=f"{w1}と{w2}{ending} 第{i % 50 + 1}巻", title_yomi=f"{r1}と{r2}{reading}",
                      authors=f"{family} {i % 997}", authors_yomi=family_reading, ndc=f"9{i % 10}3",
                      subjects="小説")  # fmt: skip
        title.search_text = catalogue.search_text(title)
        batch.append(title)
        if len(batch) == 5000 or i == count - 1:
            made = Title.objects.bulk_create(batch)
            if connection.vendor == "sqlite":
                with connection.cursor() as cursor:
                    cursor.executemany("INSERT INTO library_title_fts(rowid, body) VALUES (%s, %s)",
                                       [(t.pk, t.search_text) for t in made])  # fmt: skip
            batch = []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE library_title")


def queries(count: int) -> list[str]:
    rng = random.Random(7)
    made = []
    for i in range(count):
        kind = i % 4
        (w1, r1), (_, r2) = rng.sample(WORDS, 2)
        if kind == 0:
            made.append(f"{r1}と{r2}"[:5])  # a reading in hiragana
        elif kind == 1:
            made.append(f"{w1}と")  # two characters: below a trigram
        elif kind == 2:
            made.append(rng.choice(ENDINGS)[0].lstrip("のをと") + " " + w1)
        else:
            made.append(rng.choice(FAMILY)[1])  # an author's reading
    return made


def search_figures(count: int) -> tuple[float, float, float]:
    from anchorid.library import catalogue

    timings = []
    found = 0
    for query in queries(count):
        began = time.perf_counter()
        found += len(catalogue.search(query))
        timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    return statistics.median(timings), timings[min(len(timings) - 1, int(len(timings) * 0.99))], found / count


def patrons(count: int) -> list[str]:
    from django.contrib.sessions.backends.db import SessionStore

    from anchorid.library.models import CirculationRule, Patron
    from anchorid.library.views import PATRON

    CirculationRule.objects.filter(category="resident").update(max_loans=30_000)
    cookies = []
    for i in range(count):
        patron = Patron.objects.create(sub=f"bench-{i}", card_number=f"8{i:09d}", category="resident")
        session = SessionStore()
        session[PATRON] = patron.pk
        session.create()
        cookies.append(str(session.session_key))
    return cookies


def loanable(count: int) -> list[int]:
    from anchorid.library.models import Licence, Title

    ids = list(Title.objects.order_by("id").values_list("id", flat=True)[:count])
    Licence.objects.bulk_create(Licence(title_id=pk, model=Licence.Model.SIMULTANEOUS) for pk in ids)
    return ids


def client(args: tuple[str, str, list[int], str, Any]) -> dict[int, int]:
    url, cookie, title_ids, mode, start = args
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {"Cookie": f"library_sessionid={cookie}; library_csrftoken={CSRF}",
               "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
    seen: dict[int, int] = {}
    start.wait()
    for title_id in title_ids:
        if mode == "borrow":
            body = urlencode({"csrfmiddlewaretoken": CSRF})
            connection.request("POST", f"/titles/{title_id}/borrow/", body=body, headers=headers)
        else:
            connection.request("GET", "/healthz", headers=headers)
        response = connection.getresponse()
        response.read()
        seen[response.status] = seen.get(response.status, 0) + 1
    connection.close()
    return seen


def run_clients(url: str, plans: list[tuple[str, list[int]]], mode: str) -> tuple[float, dict[int, int]]:
    manager = multiprocessing.Manager()
    start = manager.Event()
    with multiprocessing.Pool(len(plans)) as pool:
        pending = pool.map_async(client, [(url, cookie, ids, mode, start) for cookie, ids in plans])
        time.sleep(1.0)
        began = time.perf_counter()
        start.set()
        results = pending.get(timeout=900)
        elapsed = time.perf_counter() - began
    total: dict[int, int] = {}
    for seen in results:
        for status, n in seen.items():
            total[status] = total.get(status, 0) + n
    return elapsed, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--titles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--loans", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="bench-library-")) / "library"
    setup_django(data, args.database_url)
    from django.db import connection, connections

    began = time.perf_counter()
    make_titles(args.titles)
    print(f"{args.titles} titles made and indexed in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    median_ms, p99_ms, hits = search_figures(args.queries)
    cookies = patrons(args.clients)
    ids = loanable(args.loans)
    connections.close_all()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ANCHORID_LIBRARY_ORIGIN": url, "ANCHORID_LIBRARY_CIRCULATION_SECONDS": "0"}
    command = [PYTHON, "-m", "anchorid.cli", "serve", "library", "--port", str(port), "--data", str(data),
               "--workers", str(args.workers)]  # fmt: skip
    with server(command, port, env=env):
        shares = [(cookie, ids[i :: args.clients]) for i, cookie in enumerate(cookies)]
        ceiling_seconds, ceiling_codes = run_clients(url, shares, "healthz")
        loan_seconds, loan_codes = run_clients(url, shares, "borrow")
    assert ceiling_codes == {200: args.loans}, ceiling_codes
    assert loan_codes == {302: args.loans}, loan_codes
    loans, ceiling = args.loans / loan_seconds, args.loans / ceiling_seconds
    database = "PostgreSQL (pg_trgm)" if connection.vendor == "postgresql" else "SQLite (WAL, FTS5 trigram)"
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"# bench_library: {today()}; {machine()}; load average at the end {load}")
    print(f"# {database}; {args.titles} titles; server with {args.workers} Granian workers; {args.clients} clients")
    print(f"search: median {median_ms:.1f} ms, p99 {p99_ms:.1f} ms per query ({args.queries} queries, "
          f"{hits:.1f} results on average, at most 20 shown)")  # fmt: skip
    print(f"loans over HTTP: {loans:.0f} loans/s; framework ceiling (GET /healthz, same clients): {ceiling:.0f} "
          f"requests/s; loans at {loans / ceiling:.0%} of the ceiling")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
