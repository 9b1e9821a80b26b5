"""Shared by the signing and TSA tests: a jlis and an idp served as real processes (TSA initialised, a resident
anchored on a seeded card), PDFs made with pyHanko's writer, and the ``anchorid sign`` CLI.

``signing_world(tmp)`` starts its own jlis (tests that revoke a card or stop jlis must not disturb the session's
shared one) and its own idp. Both run on their own SQLite, also in the PostgreSQL pass: the Django tests in
these files use the pytest database only for the in-process idp (``tsa_ready``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from anchorid.signing.samples import make_pdf

from .conftest import ANCHOR_SCRIPT, PASSPHRASE, free_port, stop

__all__ = ["make_pdf"]

WALLET_PASSPHRASE = "wallet passphrase 1"
JLIS_CA_PASSPHRASE = "signing test CA passphrase"


def run_cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "anchorid.cli", *args], env=env, input=stdin, capture_output=True, text=True
    )


def pem_file(url: str, path: Path) -> Path:
    certificate = x509.load_der_x509_certificate(requests.get(url, timeout=10).content)
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


@dataclass
class World:
    """jlis + idp processes, the seeded cards, an enrolled wallet."""

    jlis_url: str
    jlis_data: Path
    idp_url: str
    idp_data: Path
    env: dict[str, str]
    cards: list[dict[str, Any]]
    tmp: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def adult(self, index: int) -> dict[str, Any]:
        return [card for card in self.cards if card["has_signature_certificate"]][index]

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return run_cli(self.env, *args, stdin=stdin)

    def jlis(self, *args: str) -> dict[str, Any]:
        done = run_cli(self.jlis_env, "jlis", *args, "--data", str(self.jlis_data))
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    @property
    def jlis_env(self) -> dict[str, str]:
        return {k: v for k, v in self.env.items() if not k.startswith("ANCHORID_DATA_DIR")}

    def stop_jlis(self) -> None:
        stop(self.processes.pop("jlis"))

    def trust_pem(self) -> Path:
        """The roots a verifier trusts, in one PEM file: the JPKI signature CA and the platform root."""
        path = self.tmp / "trust.pem"
        if not path.exists():
            roots = requests.get(f"{self.idp_url}/signing/trust", timeout=10).json()["roots"]
            path.write_text("".join(roots))
        return path

    def wallet(self, card_index: int = 1) -> Path:
        """An initialised wallet enrolled with that seeded adult's card."""
        directory = self.tmp / f"wallet-{card_index}"
        if (directory / "certificate.pem").exists():
            return directory
        card = self.adult(card_index)
        done = self.cli("wallet", "init", "--dir", str(directory), "--passphrase-stdin", stdin=WALLET_PASSPHRASE + "\n")
        assert done.returncode == 0, done.stderr
        done = self.cli(
            "wallet", "enroll", "--dir", str(directory), "--idp", self.idp_url, "--card", card["card_file"],
            "--pin-stdin", stdin=card["signature_pin"] + "\n",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return directory


def wait_for(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"the {what} server did not start")
        time.sleep(0.2)


def _serve(party: str, port: int, data: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "anchorid.cli", "serve", party, "--port", str(port), "--data", str(data)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_world(
    tmp: Path, *, anchored_cards: tuple[int, ...] = (0, 1), idp_env: dict[str, str] | None = None
) -> Iterator[World]:
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    jlis_data = tmp / "jlis"
    jlis_env = {**base, "ANCHORID_JLIS_CA_PASSPHRASE": JLIS_CA_PASSPHRASE}
    cards_dir = str(jlis_data / "cards")
    for args in (
        ("jlis", "seed", "--data", str(jlis_data), "--residents", "4", "--cards-dir", cards_dir, "--seed", "11"),
        ("jlis", "export-ca", "--data", str(jlis_data), "--out", str(jlis_data / "pem")),
    ):  # fmt: skip
        done = run_cli(jlis_env, *args)
        assert done.returncode == 0, done.stderr
    jlis_port, idp_port = free_port(), free_port()
    jlis_url, idp_url = f"http://127.0.0.1:{jlis_port}", f"http://127.0.0.1:{idp_port}"
    idp_data = tmp / "idp"
    env = {
        **base,
        "ANCHORID_JLIS_CA_PASSPHRASE": JLIS_CA_PASSPHRASE,
        "ANCHORID_DATA_DIR": str(idp_data),
        "ANCHORID_KEYSTORE_PASSPHRASE": PASSPHRASE,
        "ANCHORID_IDP_ORIGIN": idp_url,
        "ANCHORID_JLIS_URL": jlis_url,
        "ANCHORID_JPKI_TRUST_ANCHORS": f"{jlis_data / 'pem' / 'sign-ca.pem'},{jlis_data / 'pem' / 'auth-ca.pem'}",
        "ANCHORID_INSECURE_COOKIES": "1",
        "ANCHORID_WALLET_PASSPHRASE": WALLET_PASSPHRASE,
        "XDG_CACHE_HOME": str(tmp.parent / "cache"),
        **(idp_env or {}),
    }
    cards = json.loads((jlis_data / "cards" / "INDEX.json").read_text())["cards"]
    world = World(jlis_url, jlis_data, idp_url, idp_data, env, cards, tmp)
    for args in (("idp", "ca", "init", "--data", str(idp_data)), ("idp", "tsa", "init", "--data", str(idp_data))):
        done = run_cli(env, *args)
        assert done.returncode == 0, done.stderr
    for index in anchored_cards:
        script = ANCHOR_SCRIPT.replace('"resident-live"', f'"resident-{index}"')
        subprocess.run(
            [sys.executable, "-c", script, str(idp_data), world.adult(index)["card_file"]], env=env, check=True
        )
    world.processes["jlis"] = _serve("jlis", jlis_port, jlis_data, jlis_env)
    world.processes["idp"] = _serve("idp", idp_port, idp_data, env)
    try:
        wait_for(f"{jlis_url}/ca/sign.cer", world.processes["jlis"], "jlis")
        wait_for(f"{idp_url}/pki/root.cer", world.processes["idp"], "idp")
        yield world
    finally:
        for process in world.processes.values():
            stop(process)
