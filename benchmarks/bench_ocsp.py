"""OCSP responses per second from the simulated J-LIS, for known certificates, measured with wrk, on both paths
the idp's verifiers take, beside ``openssl speed -multi N rsa2048`` in the same run.

    .venv/bin/python benchmarks/bench_ocsp.py [--residents 20] [--seconds 10] [--repeats 3] [--workers 2]

Seeds a fresh jlis data folder, starts ``anchorid serve jlis --workers N`` and drives it with wrk (C, from
Debian's ``wrk`` package; installed by this script when missing) cycling through GET requests (RFC 6960
Appendix A.1) for every issued certificate -- the pre-produced answers (RFC 5019) the idp's anchor check at a
passkey or wallet-key login takes -- then POST requests each with a fresh 32-byte nonce (wrk's Lua makes it), which
jlis signs afresh with RSA-2048: what a card-level check (onboarding, card login) sends. Beside them, in the same
run, ``openssl speed -multi N rsa2048``: RSA-2048 signatures/s on the same N cores, the ceiling of the signed path
(one signature per answer). Runs alternate GET, POST, openssl. Load generator and server share the machine's
cores, so the figures are floors for the server alone. Every response is checked once with cryptography before
measuring (status successful, cert status good, the nonce echoed).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
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

#: POST with a fresh nonce per request: the DER request is made with a placeholder nonce, split around it.
WRK_NONCE_SCRIPT = """
local prefix, suffix = %s, %s
local bytes = {}
request = function()
  for i = 1, 32 do bytes[i] = string.char(math.random(0, 255)) end
  return wrk.format("POST", "/ocsp/%s", {["Content-Type"] = "application/ocsp-request"},
                    prefix .. table.concat(bytes) .. suffix)
end
"""
NONCE_PLACEHOLDER = bytes(range(100, 132))


def lua_bytes(data: bytes) -> str:
    return '"' + "".join(f"\\{byte}" for byte in data) + '"'


def nonce_request(issuer_request: tuple[str, bytes]) -> tuple[str, bytes, bytes]:
    """(kind, DER before the nonce, DER after it) for a request about the same certificate with a 32-byte nonce."""
    kind, der = issuer_request
    request = ocsp.load_der_ocsp_request(der)
    builder = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(
            request.issuer_name_hash, request.issuer_key_hash, request.serial_number, request.hash_algorithm
        )
        .add_extension(x509.OCSPNonce(NONCE_PLACEHOLDER), critical=False)
    )
    full = builder.build().public_bytes(Encoding.DER)
    before, found, after = full.partition(NONCE_PLACEHOLDER)
    assert found, "the nonce placeholder is not in the request"
    return kind, before, after


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


def openssl_multi(cores: int, seconds: int) -> float:
    """``openssl speed -multi N rsa2048``: RSA-2048 signatures/s on N cores."""
    out = subprocess.run(
        ["openssl", "speed", "-seconds", str(seconds), "-multi", str(cores), "rsa2048"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"^rsa 2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", out, re.MULTILINE)
    if not match:
        raise RuntimeError(f"cannot read openssl speed output:\n{out}")
    return float(match.group(1))


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
            kind, before, after = nonce_request(requests[0])
            nonce = bytes(range(32))
            request = urllib.request.Request(
                f"{base}/ocsp/{kind}", data=before + nonce + after, headers={"Content-Type": "application/ocsp-request"}
            )
            with urllib.request.urlopen(request) as response:
                answer = ocsp.load_der_ocsp_response(response.read())
            assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
            assert answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce
            nonce_script = folder / "ocsp-nonce.lua"
            nonce_script.write_text(WRK_NONCE_SCRIPT % (lua_bytes(before), lua_bytes(after), kind))
            wrk_rate(wrk, base, script, 2, args.connections)  # warm-up
            wrk_rate(wrk, base, nonce_script, 2, args.connections)
            rates, signed, ceiling = [], [], []
            for _ in range(args.repeats):
                rates.append(wrk_rate(wrk, base, script, args.seconds, args.connections))
                signed.append(wrk_rate(wrk, base, nonce_script, args.seconds, args.connections))
                ceiling.append(openssl_multi(args.workers, min(args.seconds, 5)))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())

    def runs(values: list[float]) -> str:
        return ", ".join(f"{v:.0f}" for v in values)

    print(f"# OCSP — {today()} — {machine()} — commit {commit.stdout.strip()} — load average at the end {load}")
    print(f"certificates: {len(paths)}, server workers: {args.workers}, wrk: 2 threads, {args.connections} connections")
    print(f"GET, pre-produced (RFC 5019; the anchor check at login): median {statistics.median(rates):.0f}/s "
          f"(runs: {runs(rates)})")  # fmt: skip
    print(f"POST with a fresh nonce, signed per request (card-level checks): median {statistics.median(signed):.0f}/s "
          f"(runs: {runs(signed)})")  # fmt: skip
    print(f"openssl speed -multi {args.workers} rsa2048, sign: median {statistics.median(ceiling):.0f}/s "
          f"(runs: {runs(ceiling)})")  # fmt: skip
    ratios = [s / c for s, c in zip(signed, ceiling, strict=True)]
    print(f"signed path / openssl, run by run: {', '.join(f'{r:.2f}' for r in ratios)}; "
          f"median {statistics.median(ratios):.2f}")  # fmt: skip
    print(f"GET / openssl: median {statistics.median(r / c for r, c in zip(rates, ceiling, strict=True)):.2f}")


if __name__ == "__main__":
    main()
