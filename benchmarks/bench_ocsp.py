"""OCSP responses per second from the simulated J-LIS, for known certificates, measured with wrk.

    .venv/bin/python benchmarks/bench_ocsp.py [--residents 20] [--seconds 10] [--repeats 3] [--workers 2]

Seeds a fresh jlis data folder, starts ``anchorid serve jlis --workers N`` and drives it with wrk (C, from
Debian's ``wrk`` package; installed by this script when missing) cycling through GET requests (RFC 6960
Appendix A.1) for every issued certificate, then a POST run with one request body. Load generator and server
share the machine's cores, so the figure is a floor for the server alone. Every response is checked once with
cryptography before measuring (status successful, cert status good).
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

from asn1crypto import keys  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509 import ocsp

from common import PYTHON, free_port, machine, server, today

WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk") or "wrk"


def ocsp_requests(folder: Path, residents: int) -> list[tuple[str, bytes]]:
    """(kind, DER request) for every issued certificate of a freshly seeded jlis."""
    cards = folder / "cards"
    subprocess.run(
        [
            PYTHON,
            "-m",
            "anchorid.cli",
            "jlis",
            "seed",
            "--data",
            str(folder / "jlis"),
            "--residents",
            str(residents),
            "--cards-dir",
            str(cards),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            PYTHON,
            "-m",
            "anchorid.cli",
            "jlis",
            "export-ca",
            "--data",
            str(folder / "jlis"),
            "--out",
            str(folder / "ca"),
        ],
        check=True,
        capture_output=True,
    )
    issuers = {
        kind: x509.load_pem_x509_certificate((folder / "ca" / f"{kind}-ca.pem").read_bytes())
        for kind in ("sign", "auth")
    }
    requests = []
    for card in json.loads((cards / "INDEX.json").read_text())["cards"]:
        for kind, key in (("sign", "signature_serial"), ("auth", "authentication_serial")):
            if not card.get(key):
                continue
            issuer = issuers[kind]
            builder = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
                _name_hash(issuer),
                _key_hash(issuer),
                int(card[key]),
                hashes.SHA1(),  # noqa: S303 (CertID default)
            )
            requests.append((kind, builder.build().public_bytes(Encoding.DER)))
    return requests


def _name_hash(issuer: x509.Certificate) -> bytes:
    digest = hashes.Hash(hashes.SHA1())  # noqa: S303
    digest.update(issuer.subject.public_bytes())
    return digest.finalize()


def _key_hash(issuer: x509.Certificate) -> bytes:
    spki = issuer.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    # The key hash covers the BIT STRING value of subjectPublicKey (RFC 6960 §4.1.1), not the whole SPKI.
    digest = hashes.Hash(hashes.SHA1())  # noqa: S303
    digest.update(keys.PublicKeyInfo.load(spki)["public_key"].contents[1:])
    return digest.finalize()


def wrk_rate(wrk: str, url: str, script: Path, seconds: int, connections: int) -> float:
    out = subprocess.run(
        [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if not match or errors:
        raise RuntimeError(f"wrk run failed:\n{out}")
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    wrk = ensure_wrk()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        requests = ocsp_requests(folder, args.residents)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        paths = [
            f"/ocsp/{kind}/{urllib.parse.quote(base64.b64encode(der).decode(), safe='')}" for kind, der in requests
        ]
        script = folder / "ocsp.lua"
        script.write_text(WRK_SCRIPT % ", ".join(json.dumps(p) for p in paths))
        with server(
            [
                PYTHON,
                "-m",
                "anchorid.cli",
                "serve",
                "jlis",
                "--port",
                str(port),
                "--data",
                str(folder / "jlis"),
                "--workers",
                str(args.workers),
            ],
            port,
        ):
            for path in paths:  # every answer is a good, successful OCSP response before we time anything
                with urllib.request.urlopen(base + path) as response:
                    answer = ocsp.load_der_ocsp_response(response.read())
                assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
                assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
            wrk_rate(wrk, base, script, 2, args.connections)  # warm-up
            rates = [wrk_rate(wrk, base, script, args.seconds, args.connections) for _ in range(args.repeats)]
    print(f"# OCSP GET, known certificates — {today()} — {machine()}")
    print(f"certificates: {len(paths)}, server workers: {args.workers}, wrk: 2 threads, {args.connections} connections")
    print(f"responses/s: median {statistics.median(rates):.0f} (runs: {', '.join(f'{r:.0f}' for r in rates)})")


if __name__ == "__main__":
    main()
