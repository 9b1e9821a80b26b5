"""Shared Signals delivery (issue #5): SETs queued per second and SETs delivered per second to local receivers.

    .venv/bin/python benchmarks/bench_ssf.py [--events 5000] [--streams 4] [--threads 2] [--repeats 3]

1. Queueing: ``emit_claims_change`` for one resident connected to every stream's client, in transactions of 100
   changes -- each change signs one SET per stream (ES256 with the idp's key, through the KeyStore) and writes
   the outbox rows. Reported per SET.
2. Delivery: the real push worker (``anchorid.idp.ssf.delivery.run_once``, as ``anchorid idp ssf deliver --once``
   runs it) in N threads of this process, each leasing one stream at a time, over kept-alive HTTP/1.1 connections
   to a receiver in another process (``ThreadingHTTPServer``) that verifies every SET's ES256 signature with
   ``cryptography`` against the published JWKS, checks ``iss``/``aud``, dedupes by ``jti`` and answers 202. The
   rate counts SETs marked delivered in the outbox (the 202 received and recorded), from the first claim to the
   last mark. Embedded SQLite (WAL), as deployed by default.

Worker, receiver and database share the machine's cores: the figures are floors. Medians of the repeats.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from common import machine, today

PASSPHRASE = "benchmark-keystore-passphrase"
ISSUER = "http://127.0.0.1:9"


def receiver_main(port_queue: Any, jwks: dict[str, Any], stop: Any) -> None:
    """A push receiver (RFC 8935): verify, dedupe, 202. GET /count answers how many SETs it applied."""
    import base64
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    def b64(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    keys = {}
    for jwk in jwks["keys"]:
        numbers = ec.EllipticCurvePublicNumbers(
            int.from_bytes(b64(jwk["x"]), "big"), int.from_bytes(b64(jwk["y"]), "big"), ec.SECP256R1()
        )
        keys[jwk["kid"]] = numbers.public_key()
    seen: set[str] = set()
    lock = threading.Lock()
    applied = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            if body:
                self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._answer(200, json.dumps({"applied": applied[0]}).encode())

        def do_POST(self) -> None:
            token = self.rfile.read(int(self.headers["Content-Length"])).decode()
            try:
                header_b64, payload_b64, signature_b64 = token.split(".")
                header = json.loads(b64(header_b64))
                signature = b64(signature_b64)
                der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
                keys[header["kid"]].verify(der, f"{header_b64}.{payload_b64}".encode(), ec.ECDSA(hashes.SHA256()))
                claims = json.loads(b64(payload_b64))
                if header.get("typ") != "secevent+jwt" or claims["iss"] != ISSUER or claims["aud"] != self.path[1:]:
                    raise ValueError("issuer or audience")
            except Exception:
                self._answer(400, b'{"err":"invalid_key","description":"bad SET"}')
                return
            with lock:
                if claims["jti"] not in seen:
                    seen.add(claims["jti"])
                    applied[0] += 1
            self._answer(202)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000, help="SETs per repeat (split over the streams)")
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="delivery worker threads")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-ssf-"))
    os.environ.update(
        ANCHORID_DATA_DIR=str(folder),
        DJANGO_SETTINGS_MODULE="anchorid.idp.settings",
        ANCHORID_KEYSTORE_PASSPHRASE=PASSPHRASE,
        ANCHORID_IDP_ORIGIN=ISSUER,
        ANCHORID_SSF_ALLOW_INSECURE_HTTP="1",
        ANCHORID_SSF_ALLOW_PRIVATE_NETWORKS="1",
    )
    os.environ.pop("DATABASE_URL", None)
    from anchorid.common.serve import prepare_party

    prepare_party("idp", folder)
    from django.db import transaction

    from anchorid.idp.accounts.models import Account
    from anchorid.idp.oidc import clients, jwks
    from anchorid.idp.oidc.models import ConsentDecision
    from anchorid.idp.ssf import delivery, emit
    from anchorid.idp.ssf.models import AddressForwarding, OutboxEvent, Stream

    ctx = multiprocessing.get_context("spawn")
    port_queue, stop = ctx.Queue(), ctx.Event()
    receiver = ctx.Process(target=receiver_main, args=(port_queue, jwks.jwks_document(), stop), daemon=True)
    receiver.start()
    port = port_queue.get(timeout=30)

    account = Account.objects.create_user("bench-resident")
    for n in range(args.streams):
        client, _ = clients.register(
            client_id=f"service-{n}", name=f"service {n}", redirect_uris=[f"https://service{n}.example/cb"],
            profile="simple", auth_method="client_secret_basic", fetch_sector=False, scopes=["openid", "address"],
        )  # fmt: skip
        Stream.objects.create(
            stream_id=f"stream-{n}", client=client, delivery_method="urn:ietf:rfc:8935",
            endpoint_url=f"http://127.0.0.1:{port}/{client.client_id}", events_requested=[emit.events.CLAIMS_CHANGE],
        )  # fmt: skip
        ConsentDecision.objects.create(account=account, client=client, claim="address", granted=True)
        AddressForwarding.objects.create(account=account, client=client, forward=True)

    changes = max(1, args.events // args.streams)
    queue_rates, deliver_rates = [], []
    for _ in range(args.repeats):
        OutboxEvent.objects.all().delete()
        started = time.perf_counter()
        queued = 0
        for first in range(0, changes, 100):
            with transaction.atomic():
                for n in range(first, min(first + 100, changes)):
                    address = {"formatted": f"神奈川県鎌倉市御成町{n}番"}
                    queued += emit.emit_claims_change(account, {"address": address}, reason="bench")
        queue_rates.append(queued / (time.perf_counter() - started))

        started = time.perf_counter()
        workers = [threading.Thread(target=delivery.run_once) for _ in range(args.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - started
        delivered = OutboxEvent.objects.filter(state="delivered").count()
        if delivered != queued:
            sys.exit(f"only {delivered} of {queued} SETs delivered")
        deliver_rates.append(delivered / elapsed)

    import requests

    applied = requests.get(f"http://127.0.0.1:{port}/count", timeout=5).json()["applied"]
    stop.set()
    receiver.join(timeout=5)
    result = {
        "date": today(),
        "machine": machine(),
        "events_per_repeat": queued,
        "streams": args.streams,
        "threads": args.threads,
        "queued_per_second_median": round(statistics.median(queue_rates)),
        "queued_per_second": [round(r) for r in queue_rates],
        "delivered_per_second_median": round(statistics.median(deliver_rates)),
        "delivered_per_second": [round(r) for r in deliver_rates],
        "receiver_applied_total": applied,
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
