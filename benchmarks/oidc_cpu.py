"""CPU time and SQL statements per OpenID Provider request, in one process, through the production WSGI entry point.

Throughput runs need a quiet machine; CPU time per request (``time.process_time`` around each call of
``anchorid.idp.wsgi.application``) and the statements each request sends do not depend on what else the machine
runs. The requests are those ``bench_oidc.py`` sends (its ``Client``: a fresh ES256 client assertion and DPoP proof
per request, server nonces, PAR + authorization with the resident's session cookie + code exchange; refresh-token
exchange; userinfo with a DPoP-bound access token), made in this process and handed to the WSGI callable instead
of a socket. The client's own signing is outside the measured time.

The idp runs on a fresh SQLite database in a temporary folder (WAL, as ``anchorid serve`` runs it), one resident
logged in (a passkey-level session made by ``anchorid.idp.sessions.log_in``) who has consented to the client once.

    .venv/bin/python benchmarks/oidc_cpu.py --requests 400            # every flow
    PYTHONPATH=/path/to/other/checkout/src .venv/bin/python benchmarks/oidc_cpu.py   # another commit's code

Prints one JSON object: per operation the median and mean CPU ms per request and the statements per request.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ORIGIN = "http://127.0.0.1:8001"
FLOWS = ("userinfo", "exchange-keep", "exchange-rotate", "login")


def _environment(folder: Path, rotate: bool) -> None:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "anchorid.idp.settings",
        "ANCHORID_DATA_DIR": str(folder),
        "ANCHORID_KEYSTORE_PASSPHRASE": "bench-passphrase-123",
        "ANCHORID_IDP_ORIGIN": ORIGIN,
        "ANCHORID_OIDC_SECRET": "bench oidc secret",
        "ANCHORID_OIDC_REFRESH_ROTATION": "all" if rotate else "public",
        "ANCHORID_LOG_LEVEL": "WARNING",
    })  # fmt: skip
    os.environ.pop("REDIS_URL", None)


def _setup() -> dict[str, Any]:
    """Migrate, a client registered with its key, one resident with attributes, logged in and consented."""
    import datetime

    from cryptography.hazmat.primitives.asymmetric import ec
    from django.conf import settings
    from django.contrib.auth.models import AnonymousUser
    from django.core.management import call_command
    from django.test import RequestFactory

    from anchorid.common.session_store import SessionStore
    from anchorid.idp.accounts.models import Account
    from anchorid.idp.assurance import Authentication, Level, Method
    from anchorid.idp.oidc import clients, consent
    from anchorid.idp.oidc.claims import requested_claims
    from anchorid.idp.sessions import log_in
    from anchorid.jpki.attributes import BasicFourInfo, Gender

    call_command("migrate", verbosity=0)
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.private_numbers()
    public = numbers.public_numbers

    def coordinate(value: int) -> str:
        return bench.b64url(value.to_bytes(32, "big"))

    jwk = {"kty": "EC", "crv": "P-256", "x": coordinate(public.x), "y": coordinate(public.y), "kid": "bench-1"}
    client, _ = clients.register(client_id="bench", name="bench", redirect_uris=[bench.REDIRECT_URI],
                                 jwks={"keys": [{**jwk, "use": "sig", "alg": "ES256"}]},
                                 scopes=["openid", "profile"], fetch_sector=False)  # fmt: skip
    account = Account.objects.create_user("bench-resident")
    address = "神奈川県鎌倉市御成町１８番１０号"
    info = BasicFourInfo.plain("鎌倉　花子", datetime.date(1990, 4, 1), Gender.FEMALE, address)
    account.set_attributes(info, verified_how="jpki-signature-certificate")
    account.save()
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.user = AnonymousUser()
    log_in(request, account, Authentication(Level.DERIVED, (Method.PASSKEY, Method.USER_VERIFICATION)))
    request.session.save()
    consent.record(account, client, requested_claims(["openid", "profile"], None, client.claims), set())
    from django.db import connections

    connections.close_all()
    return {
        "issuer": ORIGIN,
        "client_id": "bench",
        "client_jwk": {**jwk, "d": coordinate(numbers.private_value)},
        "cookie": f"{settings.SESSION_COOKIE_NAME}={request.session.session_key}",
        "metadata": {
            "pushed_authorization_request_endpoint": ORIGIN + "/oidc/par",
            "authorization_endpoint": ORIGIN + "/oidc/authorize",
            "token_endpoint": ORIGIN + "/oidc/token",
            "userinfo_endpoint": ORIGIN + "/oidc/userinfo",
        },
    }


class Meter:
    """CPU seconds and statements of each request, by endpoint path."""

    def __init__(self) -> None:
        self.cpu: dict[str, list[float]] = {}
        self.statements: dict[str, list[int]] = {}
        self.counting = 0

    def count(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.counting += 1
        return execute(sql, params, many, context)


def _in_process_client(meter: Meter) -> type:
    from django.db import connections

    from anchorid.idp import wsgi

    class InProcessClient(bench.Client):
        """``bench_oidc.Client`` whose requests go to the WSGI callable, each timed and its statements counted."""

        def __init__(self, setup: dict[str, Any]) -> None:
            super().__init__(setup)
            self.connection.close()

        def request(self, method: str, url: str, body: str | None = None,
                    headers: dict[str, str] | None = None) -> Any:  # fmt: skip
            parts = urlsplit(url)
            data = (body or "").encode()
            environ: dict[str, Any] = {
                "REQUEST_METHOD": method, "PATH_INFO": parts.path, "QUERY_STRING": parts.query,
                "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8001", "SERVER_PROTOCOL": "HTTP/1.1",
                "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8001", "wsgi.url_scheme": "http",
                "wsgi.input": io.BytesIO(data), "wsgi.errors": sys.stderr, "wsgi.multithread": True,
                "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.version": (1, 0),
                "CONTENT_LENGTH": str(len(data)),
            }  # fmt: skip
            for name, value in (headers or {}).items():
                if name.lower() == "content-type":
                    environ["CONTENT_TYPE"] = value
                else:
                    environ["HTTP_" + name.upper().replace("-", "_")] = value
            started: list[Any] = []

            def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
                started[:] = [status, response_headers]

            meter.counting = 0
            with connections["default"].execute_wrapper(meter.count):
                cpu = time.process_time()
                result = wsgi.application(environ, start_response)
                content = b"".join(result)
                if hasattr(result, "close"):
                    result.close()
                cpu = time.process_time() - cpu
            meter.cpu.setdefault(parts.path, []).append(cpu)
            meter.statements.setdefault(parts.path, []).append(meter.counting)
            status, response_headers = started
            return int(status.split(" ", 1)[0]), _Headers(response_headers), content

    return InProcessClient


class _Headers:
    def __init__(self, items: list[tuple[str, str]]) -> None:
        self.items = {name.lower(): value for name, value in items}

    def get(self, name: str, default: Any = None) -> Any:
        return self.items.get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return self.items[name.lower()]


def run(flow: str, requests: int, warmup: int) -> dict[str, Any]:
    meter = Meter()
    client = _in_process_client(meter)(setup)
    tokens = client.login()
    assert tokens is not None, "the first login failed"
    state = {"refresh_token": tokens["refresh_token"], "access_token": tokens["access_token"]}
    operation = bench.FLOWS[flow][0]
    for _ in range(warmup):
        assert bench._operate(client, operation, state), f"{flow} failed in the warm-up"
    meter.cpu.clear()
    meter.statements.clear()
    total = time.process_time()
    wall = time.perf_counter()
    for _ in range(requests):
        assert bench._operate(client, operation, state), f"{flow} failed"
    total = time.process_time() - total
    wall = time.perf_counter() - wall
    paths = {path: {"requests": len(cpu), "cpu_ms_median": round(statistics.median(cpu) * 1000, 3),
                    "cpu_ms_mean": round(statistics.fmean(cpu) * 1000, 3),
                    "statements": dict(sorted(Counter(meter.statements[path]).items()))}
             for path, cpu in meter.cpu.items()}  # fmt: skip
    server = sum(sum(cpu) for cpu in meter.cpu.values())
    return {"paths": paths, "server_cpu_ms_per_operation": round(server / requests * 1000, 3),
            "process_cpu_ms_per_operation": round(total / requests * 1000, 3),
            "wall_ms_per_operation": round(wall / requests * 1000, 3)}  # fmt: skip


def main() -> None:
    global bench, setup
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flows", default=",".join(FLOWS), help=f"comma-separated, of {', '.join(FLOWS)}")
    parser.add_argument("--requests", type=int, default=400, help="measured operations per flow")
    parser.add_argument("--warmup", type=int, default=50, help="operations per flow before measuring")
    parser.add_argument("--profile", type=Path, help="py-spy speedscope/flamegraph output (one flow only)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child: one flow in this process
    args = parser.parse_args()
    flows = args.flows.split(",")
    if not args.one:  # the settings are read once per process: one child process per flow, a fresh database each
        results: dict[str, Any] = {}
        for flow in flows:
            command = [sys.executable, __file__, "--one", "--flows", flow, "--requests", str(args.requests),
                       "--warmup", str(args.warmup)]  # fmt: skip
            if args.profile:
                command = [str(Path(sys.executable).with_name("py-spy")), "record", "-r", "500", "-o",
                           str(args.profile), "-f", "raw", "--", *command]  # fmt: skip
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            results[flow] = json.loads(output[output.index("{") :])
        import anchorid

        results["code"] = str(Path(anchorid.__file__).resolve().parent)
        print(json.dumps(results, indent=1))
        return
    sys.path.insert(0, str(HERE))
    import bench_oidc as bench

    with tempfile.TemporaryDirectory(prefix="oidc-cpu-") as folder:
        _environment(Path(folder), rotate=flows[0] == "exchange-rotate")
        import django

        django.setup()
        setup = _setup()
        print(json.dumps(run(flows[0], args.requests, args.warmup)))


bench: Any = None
setup: dict[str, Any] = {}

if __name__ == "__main__":
    main()
