"""What the request metrics cost on jlis's cheapest path (issue #13): microseconds per OCSP GET, in-process.

    .venv/bin/python benchmarks/bench_metrics.py [--requests 20000] [--repeats 5]

A freshly seeded jlis data folder; prometheus_client in multiprocess mode, as under ``anchorid serve`` (counters in
memory-mapped files under ``DATA/metrics``); the access log at the level ``anchorid serve`` leaves it (INFO, to
the JSON formatter; written to /dev/null here). The same pre-signed OCSP GET (a known certificate: one indexed
query, no RSA operation) is answered by calling the WSGI callables directly, no sockets, in turns:

- ``bare``: ``anchorid.jlis.ocsp_http.wsgi`` alone (the responder);
- ``unmetered``: the responder with its answer counter switched off (what it costs without any metrics; measured
  after the other two in each process);
- ``observed``: ``anchorid.jlis.wsgi.application`` -- the same responder inside ``observe``: request id, the
  request counter and latency histogram, the responder's answer counter, the access line.

Medians of ``--repeats`` alternating rounds of ``--requests`` calls each, in CPU time of the process (on a shared,
loaded machine wall time would mostly measure the wait for a core); the difference is what the wrapper costs.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

from common import PYTHON, machine, today

KEYS = ("unmetered", "bare", "observed")


def seed(folder: Path) -> tuple[str, bytes]:
    """A seeded jlis under ``folder``; one known certificate's (kind, DER OCSP request)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_ocsp import ocsp_requests

    requests = ocsp_requests(folder, 1)
    return requests[0]


def environ_for(path: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": urllib.parse.unquote(path),
        "QUERY_STRING": "",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
    }


def per_request_us(app: Any, path: str, count: int) -> float:
    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        if not status.startswith("200"):
            raise RuntimeError(status)

    started = time.process_time()  # CPU time of this process: on a shared, loaded machine wall time measures the queue
    for _ in range(count):
        for _chunk in app(environ_for(path), start_response):
            pass
    return (time.process_time() - started) / count * 1e6


def child(folder: str, path: str, count: int, repeats: int) -> None:
    """Runs in a process with the server's environment (multiprocess metrics set up before any import)."""
    from anchorid.common import metrics_folder

    metrics_folder.prepare(Path(folder) / "jlis", clean=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "anchorid.jlis.settings"
    os.environ["ANCHORID_DATA_DIR"] = str(Path(folder) / "jlis")
    import importlib
    import logging

    application = importlib.import_module("anchorid.jlis.wsgi").application  # sets Django up first
    ocsp_http = importlib.import_module("anchorid.jlis.ocsp_http")

    for handler in logging.getLogger().handlers + logging.getLogger("anchorid").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 (lives as long as the process)
    variants = {"bare": ocsp_http.wsgi, "observed": application}
    for app in variants.values():
        per_request_us(app, path, 500)  # warm: connection open, children labelled
    results: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, app in variants.items():
            results[name].append(per_request_us(app, path, count))
    from anchorid.common import metrics

    metrics.count_ocsp_response = lambda *args, **kwargs: None  # type: ignore[assignment]
    results["unmetered"] = [per_request_us(ocsp_http.wsgi, path, count) for _ in range(repeats)]
    access = logging.getLogger("anchorid.access")
    print(json.dumps({"results": results, "access_log_level": logging.getLevelName(access.getEffectiveLevel())}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline-src", help="another commit's src folder, measured in turns with this one")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    with tempfile.TemporaryDirectory() as tmp:
        kind, der = seed(Path(tmp))
        path = f"/ocsp/{kind}/{urllib.parse.quote(base64.b64encode(der).decode(), safe='')}"
        script = (
            "import sys; sys.path.insert(0, sys.argv[1]); import bench_metrics; "
            "bench_metrics.child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))"
        )
        variants = {"this": None, **({"baseline": args.baseline_src} if args.baseline_src else {})}
        reports: dict[str, dict[str, list[float]]] = {name: {key: [] for key in KEYS} for name in variants}
        level = ""
        for _ in range(args.repeats):  # the variants take turns, each in a process of its own
            for name, src in variants.items():
                env = {**os.environ, **({"PYTHONPATH": src} if src else {})}
                done = subprocess.run(
                    [PYTHON, "-c", script, str(Path(__file__).parent), tmp, path, str(args.requests), "3"],
                    capture_output=True,
                    text=True,
                    env=env,
                )
                if done.returncode != 0:
                    raise SystemExit(done.stderr)
                report = json.loads(done.stdout.strip().splitlines()[-1])
                level = report["access_log_level"]
                for key in KEYS:
                    reports[name][key].append(statistics.median(report["results"][key]))
    print(f"# Metrics wrapper on jlis's OCSP GET — {today()} — {machine()} — commit {commit.stdout.strip()}")
    print(f"access log level: {level}; {args.requests} requests x 3 rounds per process, {args.repeats} processes each")
    print("| code | responder without metrics | responder (its answer counter) | observed (whole wrapper) | "
          "metrics cost | observed / without | processes' medians |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, results in reports.items():
        plain, bare, observed = (statistics.median(results[key]) for key in KEYS)
        each = "; ".join("/".join(f"{v:.0f}" for v in values) for values in zip(*results.values(), strict=True))
        print(f"| {name} | {plain:.1f} µs | {bare:.1f} µs | {observed:.1f} µs | {observed - plain:+.1f} µs | "
              f"{observed / plain:.2f} | {each} |")  # fmt: skip


if __name__ == "__main__":
    main()
