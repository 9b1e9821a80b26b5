"""Benchmark: the lifecycle sweep of N accounts against a CRL of 100,000 revoked entries (issue #5's target:
1,000,000 accounts in at most 5 s on one core).

    taskset -c 0 .venv/bin/python benchmarks/bench_sweep.py [--sizes 100000,300000,1000000] [--crl-entries 100000]
                                                             [--new 1000] [--repeats 3]

What it builds, in a throwaway data folder (SQLite, the embedded default):

- a test JPKI signature CA and authentication CA (``jpki.profiles.build_ca_certificate``), trusted by the idp;
- a CRL of ``--crl-entries`` serials signed by the signature CA (cRLNumber, reasonCode per entry: mostly
  affiliationChanged, some certificateHold, cessationOfOperation, keyCompromise), served over HTTP on localhost
  as jlis serves ``/crl/sign.crl``; ``--new`` of its serials belong to seeded accounts, the rest to people who
  never registered;
- N accounts, each with a current anchor certificate, inserted by bulk SQL.

Then for each N it times ``anchorid.idp.lifecycle.sweep.run_sweep`` end to end (HTTP fetch, CRL parse and
signature check, the pass over every anchor -- streamed, or probed by CRL serial when anchors outnumber CRL entries
four to one, ``--strategy`` -- and the writes): the *first* sweep, which finds the ``--new``
revocations and writes them (anchor rows, stale marks, audit entries, notices; deaths close accounts), reset and
repeated; and the *steady* sweep that follows, which finds nothing new and writes nothing. Medians of
``--repeats`` runs are printed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, machine, today

sys.path.insert(0, str(REPO / "tests"))
from support.crl_server import serving_crl

REASONS = [
    ("affiliation_changed", 70),
    ("certificate_hold", 20),
    ("cessation_of_operation", 5),
    ("key_compromise", 5),
]
FIRST_SERIAL = 10**12


def _ca_files(folder: Path) -> tuple[Any, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from anchorid.jpki.profiles import CertKind, build_ca_certificate

    now = datetime.now(UTC)
    made = {}
    for kind in (CertKind.SIGNATURE, CertKind.AUTHENTICATION):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        certificate = build_ca_certificate(
            kind,
            key,
            serial=random.getrandbits(63),
            not_before=now - timedelta(days=1),
            not_after=now + timedelta(days=3650),
            test=True,
        )
        path = folder / f"{kind.value}-ca.pem"
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        made[kind] = (certificate, key, path)
    os.environ["ANCHORID_JPKI_TRUST_ANCHORS"] = ",".join(str(v[2]) for v in made.values())
    return made[CertKind.SIGNATURE][0], made[CertKind.SIGNATURE][1]


def _crl(issuer: Any, key: Any, serials: list[int], number: int) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    now = datetime.now(UTC).replace(microsecond=0)
    flags = [getattr(x509.ReasonFlags, name) for name, weight in REASONS for _ in range(weight)]
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(now - timedelta(minutes=1))
        .next_update(now + timedelta(days=1))
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    entries = []
    for index, serial in enumerate(serials):
        entries.append(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(now - timedelta(hours=1))
            .add_extension(x509.CRLReason(flags[index % len(flags)]), critical=False)
            .build()
        )
    # The builder copies its list on every add; build it in one go through its internal constructor's public
    # equivalent: add all, sign once (a few tens of seconds for 100,000 entries, once per run).
    for entry in entries:
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _seed(count: int, issuer_fingerprint: str) -> None:
    """``count`` resident accounts with one current, good anchor each, by bulk SQL (serials FIRST_SERIAL + i)."""
    from django.db import connection, transaction

    now = datetime.now(UTC).isoformat(sep=" ")
    later = (datetime.now(UTC) + timedelta(days=1500)).isoformat(sep=" ")
    earlier = (datetime.now(UTC) - timedelta(days=300)).isoformat(sep=" ")
    batch = 50000
    _reset()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_anchorcertificate")
        cursor.execute("DELETE FROM accounts_account")
        for start in range(0, count, batch):
            ids = [uuid.uuid4().hex for _ in range(start, min(count, start + batch))]
            cursor.executemany(
                "INSERT INTO accounts_account (id, password, last_login, is_superuser, handle, kind, status, is_staff, "
                "created_at, status_reason, preferred_language, attributes_verified_how, attributes_stale_reason) "
                "VALUES (%s, '!', NULL, 0, %s, 'resident', 'active', 0, %s, '', 'ja', '', '')",
                [(account_id, f"resident-{account_id}", now) for account_id in ids],
            )
            cursor.executemany(
                "INSERT INTO accounts_anchorcertificate (account_id, issuer_fingerprint, serial, fingerprint, "
                "not_before, not_after, current, status, revocation_reason, checked_at, anchored_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, 1, 'good', '', %s, %s)",
                [
                    (
                        account_id,
                        issuer_fingerprint,
                        str(FIRST_SERIAL + start + i),
                        f"{start + i:064x}",
                        earlier,
                        later,
                        now,
                        now,
                    )
                    for i, account_id in enumerate(ids)
                ],
            )


def _reset() -> None:
    """Undo a sweep's writes, so the next first sweep finds the same revocations again."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_anchorcertificate SET status = 'good', revocation_reason = '', revoked_at = NULL "
            "WHERE status != 'good'"
        )
        cursor.execute(
            "UPDATE accounts_account SET status = 'active', status_reason = '', status_changed_at = NULL, "
            "attributes_stale_since = NULL, attributes_stale_reason = '' WHERE attributes_stale_since IS NOT NULL "
            "OR status != 'active'"
        )
        for table in ("lifecycle_notice", "lifecycle_sweeprun", "audit_auditentry", "audit_checkpoint"):
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed table names)
        cursor.execute("DELETE FROM audit_audithead")


def _time_sweep() -> tuple[float, Any]:
    from anchorid.idp.lifecycle.sweep import run_sweep

    start = time.perf_counter()
    summary = run_sweep(trigger="benchmark")
    return time.perf_counter() - start, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--crl-entries", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=1000, help="CRL entries that are seeded accounts' anchors")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--strategy", choices=["auto", "stream", "probe"], default="auto")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    if args.new > min(sizes) or args.new > args.crl_entries:
        parser.error("--new must not exceed the smallest size nor the CRL")

    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as folder:
        data = Path(folder)
        os.environ.pop("DATABASE_URL", None)
        os.environ["ANCHORID_SWEEP_INTERVAL"] = "0"
        os.environ["ANCHORID_SWEEP_STRATEGY"] = args.strategy
        issuer, key = _ca_files(data)
        from anchorid.common.serve import prepare_party

        prepare_party("idp", data / "idp")
        import logging

        logging.disable(logging.WARNING)
        from anchorid.idp import jlis_client

        rng = random.Random(5)
        # --new serials spread over the smallest size's accounts; the rest belong to no account.
        smallest = min(sizes)
        ours = [FIRST_SERIAL + i for i in rng.sample(range(smallest), args.new)]
        others = [FIRST_SERIAL * 10 + i for i in range(args.crl_entries - args.new)]
        print(f"building a CRL of {args.crl_entries:,} entries ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        der = _crl(issuer, key, sorted(ours + others), number=1)
        print(f"  {len(der):,} bytes in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        with serving_crl(der) as url:
            os.environ["ANCHORID_JLIS_URL"] = url
            fingerprint = jlis_client.certificate_fingerprint(issuer)
            rows = []
            for size in sizes:
                print(f"seeding {size:,} accounts ...", file=sys.stderr, flush=True)
                _seed(size, fingerprint)
                firsts, steadies = [], []
                for _ in range(args.repeats):
                    _reset()
                    seconds, summary = _time_sweep()
                    assert summary.checked == size, summary
                    assert sum(summary.newly_revoked.values()) == args.new, summary
                    firsts.append(seconds)
                    seconds, summary = _time_sweep()
                    assert sum(summary.newly_revoked.values()) == 0, summary
                    steadies.append(seconds)
                rows.append((size, statistics.median(firsts), statistics.median(steadies), firsts, steadies))
                print(
                    f"  first {statistics.median(firsts):.2f} s, steady {statistics.median(steadies):.2f} s",
                    file=sys.stderr,
                    flush=True,
                )

    print(f"# lifecycle sweep -- {today()} -- {machine()}, CPU affinity {sorted(os.sched_getaffinity(0))}")
    print(
        f"# CRL {args.crl_entries:,} entries ({len(der):,} bytes), {args.new:,} of them seeded anchors; "
        f"medians of {args.repeats}; ANCHORID_SWEEP_STRATEGY={args.strategy}"
    )
    print(
        "| accounts | first sweep (finds and writes the new revocations) | steady sweep (nothing new) "
        "| runs (first / steady) |"
    )
    print("|---:|---:|---:|---|")
    for size, first, steady, firsts, steadies in rows:
        runs = ", ".join(f"{s:.2f}" for s in firsts) + " / " + ", ".join(f"{s:.2f}" for s in steadies)
        print(f"| {size:,} | {first:.2f} s | {steady:.2f} s | {runs} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
