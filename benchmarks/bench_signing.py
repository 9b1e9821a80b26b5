"""PAdES B-LTA signatures per second with the wallet key, ours vs pyHanko alone, in the same run.

    .venv/bin/python benchmarks/bench_signing.py [--signatures 10] [--repeats 5]

Starts a real jlis and idp (TSA initialised, a wallet enrolled with a seeded card), then alternates:

- **ours**: what ``anchorid sign pdf --wallet`` does after start-up — the input checks (size, encryption, every
  existing signature), the wallet's signing certificate, the validation context, ``anchorid.signing.pdf.sign_pdf``
  (B-LTA: signature timestamp from our TSA over HTTP, OCSP/CRLs fetched from the idp, DSS, document timestamp);
- **pyHanko alone, B-LTA**: ``PdfSigner`` with the same key, certificate, TSA URL and trust roots,
  ``embed_validation_info`` and ``use_pades_lta`` — the same cryptographic and network work, none of our code;
- **pyHanko alone, B-T**: only a signature timestamp (no revocation data, no document timestamp), for scale.

Overhead = 1 - ours / pyHanko-B-LTA (goal ≤ 20 %). Also: one ``anchorid sign pdf`` process, start-up included.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anchorid.idp.settings")
os.environ.setdefault("ANCHORID_DATA_DIR", tempfile.mkdtemp(prefix="bench-signing-django-"))

import django

django.setup()

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.sign import fields  # noqa: E402
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata, PdfSigner  # noqa: E402
from pyhanko.sign.timestamps import HTTPTimeStamper  # noqa: E402
from pyhanko_certvalidator import ValidationContext  # noqa: E402
from tests.idp.signing_support import WALLET_PASSPHRASE, make_pdf, start_world  # noqa: E402

from anchorid.signing import client, pdf  # noqa: E402
from anchorid.signing.revinfo import signing_context, to_asn1  # noqa: E402
from anchorid.signing.signers import key_signer  # noqa: E402
from anchorid.wallet.store import Wallet  # noqa: E402
from common import machine, median_rate, today  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--signatures", type=int, default=10, help="signatures per timed run")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-signing-"))
    world_iter = start_world(tmp)
    world = next(world_iter)
    try:
        run(world, tmp, args.signatures, args.repeats)
    finally:
        world_iter.close()


def run(world, tmp: Path, signatures: int, repeats: int) -> None:  # type: ignore[no-untyped-def]
    document = make_pdf(tmp / "contract.pdf", pages=3).read_bytes()
    wallet = Wallet(world.wallet(1))
    key = wallet.private_key(WALLET_PASSPHRASE)
    trust = client.idp_trust(world.idp_url)
    certificate, chain = client.wallet_signing_certificate(wallet, key, world.idp_url)

    def ours() -> int:
        for _ in range(signatures):
            cert, issued_chain = client.wallet_signing_certificate(wallet, key, world.idp_url)
            context = signing_context(trust.roots, other_certs=issued_chain)
            out = io.BytesIO()
            pdf.sign_pdf(io.BytesIO(document), out, key_signer(key, cert, issued_chain),
                         stamper=pdf.timestamper(trust.tsa_url), context=context)  # fmt: skip
        return signatures

    def pyhanko_alone(lta: bool) -> int:
        signer = key_signer(key, certificate, chain)  # pyHanko's own SimpleSigner
        for index in range(signatures):
            context = ValidationContext(
                trust_roots=[to_asn1(r) for r in trust.roots], other_certs=[to_asn1(c) for c in chain],
                allow_fetching=True,
            )  # fmt: skip
            meta = PdfSignatureMetadata(
                field_name=f"Sig{index}", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
                embed_validation_info=lta, use_pades_lta=lta, validation_context=context if lta else None,
            )  # fmt: skip
            writer = IncrementalPdfFileWriter(io.BytesIO(document))
            PdfSigner(meta, signer=signer, timestamper=HTTPTimeStamper(trust.tsa_url)).sign_pdf(
                writer, output=io.BytesIO()
            )
        return signatures

    ours()  # warm-up: caches, connections, the font-free code paths
    results: dict[str, list[float]] = {"ours": [], "lta": [], "bt": []}
    for _ in range(repeats):
        results["ours"].append(median_rate(ours, 1)[0])
        results["lta"].append(median_rate(lambda: pyhanko_alone(True), 1)[0])
        results["bt"].append(median_rate(lambda: pyhanko_alone(False), 1)[0])
    ours_rate, lta_rate, bt_rate = (statistics.median(results[k]) for k in ("ours", "lta", "bt"))

    started = time.perf_counter()
    done = world.cli("sign", "pdf", "--in", str(tmp / "contract.pdf"), "--out", str(tmp / "cli.pdf"),
                     "--wallet", str(wallet.directory), "--idp", world.idp_url)  # fmt: skip
    cli_seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr

    print(f"machine: {machine()}")
    print(f"date: {today()}")
    print(f"command: .venv/bin/python benchmarks/bench_signing.py --signatures {signatures} --repeats {repeats}")
    print(f"document: {len(document)} bytes, 3 pages; wallet key EC P-256; TSA and OCSP over HTTP at the idp")
    print(
        f"ours (anchorid.signing, B-LTA):   {ours_rate:6.2f} signatures/s  runs {[f'{r:.2f}' for r in results['ours']]}"
    )
    print(
        f"pyHanko alone, B-LTA:             {lta_rate:6.2f} signatures/s  runs {[f'{r:.2f}' for r in results['lta']]}"
    )
    print(f"pyHanko alone, B-T:               {bt_rate:6.2f} signatures/s  runs {[f'{r:.2f}' for r in results['bt']]}")
    print(f"ratio ours / pyHanko B-LTA: {ours_rate / lta_rate:.2f} (overhead {100 * (1 - ours_rate / lta_rate):.0f} %)")
    print(f"one `anchorid sign pdf --wallet` process, start-up included: {cli_seconds:.2f} s")


if __name__ == "__main__":
    main()
