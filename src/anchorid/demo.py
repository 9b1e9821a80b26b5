"""``anchorid demo``: start every party that exists, seeded, and print what to try.

Each party runs as its own ``anchorid serve PARTY`` process with its own data folder under ``--data`` (they
share nothing but HTTP). The first run seeds the simulated J-LIS with synthetic residents and writes their
virtual cards; later runs reuse them. ``--once`` starts everything, checks that every party answers, prints the
guide and stops: the test suite runs the demo that way.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ANCHORID = [sys.executable, "-m", "anchorid.cli"]


@dataclass
class Party:
    name: str
    port: int
    data: Path
    health_path: str
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _run(*args: str, stdin: str | None = None) -> str:
    result = subprocess.run([*ANCHORID, *args], input=stdin, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"anchorid {' '.join(args[:2])} failed:\n{result.stderr.strip()}")
    return result.stdout


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _wait_until_answering(party: Party, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        if party.process is not None and party.process.poll() is not None:
            raise SystemExit(f"{party.name} exited with code {party.process.returncode}")
        try:
            with urllib.request.urlopen(party.url + party.health_path, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError as exc:
            last_error = str(exc)
        time.sleep(0.2)
    raise SystemExit(f"{party.name} did not answer at {party.url}{party.health_path}: {last_error}")


def _seed_jlis(data: Path, residents: int) -> dict[str, object]:
    jlis_data, cards = data / "jlis", data / "cards"
    index = cards / "INDEX.json"
    if not index.exists():
        print(f"Seeding J-LIS with {residents} synthetic Kamakura residents and their virtual cards …")
        _run("jlis", "seed", "--data", str(jlis_data), "--residents", str(residents), "--cards-dir", str(cards))
    staff_file = data / "jlis-staff.json"
    if not staff_file.exists():
        password = secrets.token_urlsafe(12)
        _run(
            "jlis",
            "createstaff",
            "--data",
            str(jlis_data),
            "--username",
            "counter",
            "--password-stdin",
            stdin=password + "\n",
        )
        staff_file.write_text(json.dumps({"username": "counter", "password": password}))
        staff_file.chmod(0o600)
    ca_dir = data / "ca"
    if not ca_dir.exists():
        _run("jlis", "export-ca", "--data", str(jlis_data), "--out", str(ca_dir))
    loaded: dict[str, object] = json.loads(index.read_text())
    return loaded


def _start(party: Party) -> None:
    if not _port_free(party.port):
        raise SystemExit(f"port {party.port} is taken; choose another first port with --port")
    log = (party.data.parent / f"{party.name}.log").open("ab")
    party.process = subprocess.Popen(
        [*ANCHORID, "serve", party.name, "--port", str(party.port), "--data", str(party.data)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANCHORID_INSECURE_COOKIES": "1"},
    )


def _command_name() -> str:
    """How the resident should type ``anchorid``: the venv's script, relative to here when possible."""
    script = Path(sys.executable).with_name("anchorid")
    if not script.exists():
        return f"{sys.executable} -m anchorid.cli"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def _guide(data: Path, jlis: Party, index: dict[str, object]) -> str:
    cards = [card for card in index["cards"] if isinstance(card, dict)]  # type: ignore[attr-defined]
    adult = next(card for card in cards if card.get("has_signature_certificate"))
    card_file = adult["card_file"]
    staff = json.loads((data / "jlis-staff.json").read_text())
    ca = data / "ca"
    anchorid = _command_name()
    lines = [
        "",
        "AnchorID demo is running.",
        "",
        f"  J-LIS (simulated)   {jlis.url}/admin/   staff login: {staff['username']} / {staff['password']}",
        f"  data folder         {data.resolve()}   (logs: *.log there)",
        f"  residents + PINs    {data.resolve() / 'cards' / 'INDEX.json'}  (synthetic people, virtual cards)",
        "",
        "Try, in another terminal:",
        f"  {anchorid} card info --card {card_file}",
        f"  {anchorid} card pin-status --card {card_file}",
        f"  echo {adult['signature_pin']} | {anchorid} card sign --card {card_file} --data README.md --pin-stdin",
        "",
        "  # Ask J-LIS's OCSP responder about the card's signature certificate (openssl, independent client):",
        f"  {anchorid} jlis export-ca --data {data / 'jlis'} --out {ca}",
        f"  openssl ocsp -issuer {ca}/sign-ca.pem -serial {adult['signature_serial']} "
        f"-url {jlis.url}/ocsp/sign -CAfile {ca}/sign-ca.pem -resp_text",
        f"  curl -s {jlis.url}/crl/sign.crl | openssl crl -inform DER -noout -text | head",
        "",
        "  # A life event: the resident moves; the next OCSP answer says revoked (affiliationChanged):",
        f"  {anchorid} jlis move --data {data / 'jlis'} --resident {adult['resident_id']} "
        "--address 神奈川県鎌倉市由比ガ浜二丁目１－１",
        "",
        "Stop with Ctrl-C.",
    ]
    return "\n".join(lines)


def run_demo(data: Path, *, base_port: int, residents: int, once: bool) -> int:
    data.mkdir(parents=True, exist_ok=True)
    index = _seed_jlis(data, residents)
    jlis = Party("jlis", base_port, data / "jlis", "/ca/sign.cer")
    parties = [jlis]
    try:
        for party in parties:
            _start(party)
        for party in parties:
            _wait_until_answering(party)
        print(_guide(data, jlis, index), flush=True)
        if once:
            return 0
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while all(party.process is not None and party.process.poll() is None for party in parties):
            time.sleep(0.5)
        print("a party stopped; see its log in the data folder", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for party in parties:
            if party.process is not None and party.process.poll() is None:
                party.process.terminate()
        for party in parties:
            if party.process is not None:
                try:
                    party.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    party.process.kill()
