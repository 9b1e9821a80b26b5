"""Token exchange (RFC 8693, a link between two services) beside a plain refresh, at the same idp, in the same run.

    .venv/bin/python benchmarks/bench_token_exchange.py [--workers 1] [--clients 4,8,16] [--seconds 5] [--warmup 2]
        [--repeats 2]

Target (issue #17): token exchanges/s ≥ 0.8 × refresh-token exchanges/s.

The machinery is ``bench_oidc``'s, not a copy: its idp set-up (``AnchorID``: jlis, an onboarded resident, the
``bench`` client with its consent, a fresh ``anchorid serve idp`` per run that is idle before the window opens),
its load-generating ``Client`` (a fresh ES256 client assertion and DPoP proof per request, the server's nonce) and
its ``measure`` (closed-loop client processes, ``--warmup`` seconds not counted, load-generator CPU reported), and
its reading of a process tree's CPU time (the server's CPU milliseconds per operation: a figure that a busy
machine blurs less than the rates). This
script adds what a link needs — a second client (``bench-target``) with a link scope, an offer ``bench`` →
``bench-target`` and the resident's consent given on the consent screen — and one operation, ``token-exchange``:
``grant_type=urn:ietf:params:oauth:grant-type:token-exchange`` with the resident's DPoP-bound access token (from the
client process's login) as ``subject_token``, ``audience=bench-target``.

Fairness: both operations run against the same idp data with the same settings (refresh token kept, DPoP nonces
required), each run on a freshly started server; runs alternate (refresh, exchange, refresh, exchange, …) at every
``--clients`` level so that drift hits both alike; the plateau is the best median across levels. The access token
a client process exchanges lives 300 s: keep ``--warmup`` + ``--seconds`` well below that.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

import bench_oidc
from bench_oidc import REDIRECT_URI, AnchorID, Client, _cpu_seconds, _tree, measure
from common import REPO, machine, today

TARGET = "bench-target"
TARGET_REDIRECT_URI = "http://127.0.0.1:9/target-callback"
SCOPE = "bench:read"
OFFER = "bench-to-target"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
#: Seconds waited after each window before reading the server's CPU time, for both operations alike: the worker
#: appends the exchanges' audit entries every 2 s (anchorid.idp.links.usage).
AUDIT_CATCH_UP = 3.0
OPERATIONS = {"refresh": "exchange", "token-exchange": "token-exchange"}  # ours → bench_oidc's operation name


def token_exchange(client: Client, access_token: str) -> bool:
    status, _, _ = client.post_signed(client.metadata["token_endpoint"], {
        "grant_type": GRANT_TYPE, "subject_token": access_token, "subject_token_type": ACCESS_TOKEN_TYPE,
        "audience": TARGET, "scope": SCOPE})  # fmt: skip
    return status == 200


_plain_operate = bench_oidc._operate


def _operate(client: Client, operation: str, state: dict[str, Any]) -> bool:
    """bench_oidc's operations plus ``token-exchange`` (its worker processes call this module attribute)."""
    if operation == "token-exchange":
        return token_exchange(client, state["access_token"])
    return _plain_operate(client, operation, state)


bench_oidc._operate = _operate


class LinkedAnchorID(AnchorID):
    """bench_oidc's idp, plus a target client, its link scope, an offer and the resident's consent to it."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder, redis=False)
        try:
            env, data = self.parties.idp.env, str(self.parties.idp.data)
            keys = folder / "second-rp"
            for command in (
                ["idp", "client", "add", "--data", data, "--client-id", TARGET, "--jwks", str(keys / "jwks.json"),
                 "--redirect-uri", TARGET_REDIRECT_URI, "--scopes", "openid"],
                ["idp", "links", "scope", "add", "--data", data, "--client", TARGET, "--scope", SCOPE,
                 "--label-ja", "ベンチマークの読み取り", "--label-en", "Benchmark reads"],
                ["idp", "links", "offer", "add", "--data", data, "--id", OFFER, "--source", "bench", "--target", TARGET,
                 "--scope", SCOPE, "--purpose-ja", "性能測定のため", "--purpose-en", "To measure", "--days", "30"],
            ):  # fmt: skip
                subprocess.run([sys.executable, "-m", "anchorid.cli", *command], env=env, check=True,
                               capture_output=True)  # fmt: skip
            self.start("keep", 1)
            self._consent()
            self.stop()
        except BaseException:
            self.close()
            raise

    def _consent(self) -> None:
        """The resident approves the link on the consent screen, as a browser would."""
        from tests.interop.harness import form_data, forms  # importable once bench_oidc put the repository first

        issuer = self.setup["issuer"]
        browser = requests.Session()
        headers = {"Cookie": self.setup["cookie"], "Origin": issuer}
        url = f"{issuer}/links/consent/?" + urlencode({"offer": OFFER, "return_to": REDIRECT_URI})
        page = browser.get(url, headers=headers, timeout=10)
        assert page.status_code == 200, page.text[:300]
        form = next(f for f in forms(page.text) if "consent" in f["action"])
        answer = browser.post(f"{issuer}{form['action']}", data=form_data(form, button=("decision", "approve")),
                              headers={**headers, "Referer": url}, allow_redirects=False, timeout=10)  # fmt: skip
        assert answer.status_code == 302, answer.text[:300]
        assert "link=approved" in answer.headers["Location"], answer.headers["Location"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--workers", type=int, default=1, help="Granian workers of the idp")
    parser.add_argument("--clients", default="4,8,16", help="closed-loop concurrency levels (client processes)")
    parser.add_argument("--seconds", type=float, default=5.0, help="counted seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="uncounted seconds at the start of each run")
    parser.add_argument("--repeats", type=int, default=2, help="runs per operation and level (alternating)")
    args = parser.parse_args()
    levels = [int(part) for part in args.clients.split(",") if part.strip()]
    if args.warmup + args.seconds > 240:
        parser.error("--warmup + --seconds must stay below the access token's 300 s")
    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-token-exchange-") as temporary:
        anchorid = LinkedAnchorID(Path(temporary) / "anchorid")
        try:
            for clients in levels:
                for _ in range(args.repeats):
                    for name, operation in OPERATIONS.items():  # alternate, so drift hits both alike
                        setup = anchorid.start("keep", args.workers)
                        try:
                            process = anchorid.parties.idp.process
                            assert process is not None
                            cpu = _cpu_seconds(_tree(process.pid))
                            result = measure(setup, operation, clients, args.seconds, args.warmup)
                            time.sleep(AUDIT_CATCH_UP)  # the worker's link-use-audit batches belong to the cost
                            spent = _cpu_seconds(_tree(process.pid)) - cpu
                            done = result["rate"] * (args.seconds + args.warmup)
                            result["server_ms"] = 1000 * spent / done if done else float("nan")
                        finally:
                            anchorid.stop()
                        results.setdefault((name, clients), []).append(result)
                        print(f"  {name:15} {clients:3} clients {result['rate']:8.1f}/s  p50 {result['p50']:6.1f} "
                              f"p99 {result['p99']:7.1f} ms  ({result['errors']} failed; load generator "
                              f"{result['cores']:.2f} cores; server {result['server_ms']:.2f} CPU ms/op)",
                              flush=True)  # fmt: skip
        finally:
            anchorid.close()
    report(args, levels, results)


def report(args: Any, levels: list[int], results: dict[tuple[str, int], list[dict[str, Any]]]) -> None:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    commit = os.environ.get("BENCH_COMMIT") or done.stdout.strip() or "unknown"
    med = statistics.median
    print(f"\n## Token exchange beside refresh ({today()}; {machine()}; commit {commit})\n")
    print(f"`.venv/bin/python benchmarks/bench_token_exchange.py {' '.join(sys.argv[1:])}`\n")
    print("Closed loop (ops/s, median of runs; ratio = token exchange / refresh; target ≥ 0.80):\n")
    print("| clients | refresh | token exchange | ratio | runs (refresh / exchange) "
          "| server CPU ms/op (refresh / exchange) |")  # fmt: skip
    print("|---:|---:|---:|---:|---|---|")
    best = {"refresh": 0.0, "token-exchange": 0.0}
    for clients in levels:
        plain = [r["rate"] for r in results[("refresh", clients)]]
        linked = [r["rate"] for r in results[("token-exchange", clients)]]
        best = {"refresh": max(best["refresh"], med(plain)), "token-exchange": max(best["token-exchange"], med(linked))}
        ratio = med(linked) / med(plain) if med(plain) else float("nan")
        runs = f"{', '.join(f'{r:.0f}' for r in plain)} / {', '.join(f'{r:.0f}' for r in linked)}"
        cpu_plain = med(r["server_ms"] for r in results[("refresh", clients)])
        cpu_linked = med(r["server_ms"] for r in results[("token-exchange", clients)])
        print(f"| {clients} | {med(plain):.0f} | {med(linked):.0f} | {ratio:.2f} | {runs} | "
              f"{cpu_plain:.2f} / {cpu_linked:.2f} |")  # fmt: skip
    ratio = best["token-exchange"] / best["refresh"] if best["refresh"] else float("nan")
    print(f"| **plateau** | **{best['refresh']:.0f}** | **{best['token-exchange']:.0f}** | **{ratio:.2f}** | | |")
    print(
        "\nServer CPU ms/op: CPU time of the idp's processes (workers and the background worker) over the run, warm-up,"
    )
    print("the clients' logins and the audit catch-up included, divided by the operations of warm-up and window.")
    failures = sum(r["errors"] for runs in results.values() for r in runs)
    print(f"\nFailed operations: {failures}.")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
