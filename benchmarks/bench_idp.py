"""The ID platform (issue #3): onboarding verifications/s, passkey logins/s, and the idp worker's memory.

    .venv/bin/python benchmarks/bench_idp.py [--seconds 10] [--repeats 3] [--processes 2]

1. Onboarding verifications: ``verify_card_signature`` -- the server-side check of a card onboarding: the RSA
   signature over the challenge, the chain to the JPKI signature CA with cryptography's X.509 verifier, the profile, and
   a real OCSP request over HTTP to a local ``anchorid serve jlis`` -- in N processes for T seconds, against
   signatures the virtual cards made once beforehand (the card itself is not what is measured).
2. Passkey logins: a real ``anchorid serve idp --workers N``; each login is what a browser does: POST the
   options (a fresh challenge bound to the session), sign the assertion with a software authenticator (ES256),
   POST it; the idp verifies it with the ``webauthn`` library, updates the sign count, writes the audit entry and
   rotates the session. Clients are N processes with their own sessions and accounts; rate limits are raised for
   the run (ANCHORID_RATE_LIMITS), everything else is as deployed.
3. Memory: the resident set (VmRSS) of each idp worker process after the login run.

Servers and load share the machine's cores: figures are floors. Medians of the repeats.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from common import PYTHON, REPO, free_port, machine, server, today

PASSPHRASE = "benchmark-keystore-passphrase"
RATE_LIMITS = json.dumps(
    {
        "login-ip": [10**9, 600],
        "login-account": [10**9, 900],
        "passkey-challenge-ip": [10**9, 600],
        "passkey-challenge-all": [10**9, 600],
    }
)


def cli(*args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        [PYTHON, "-m", "anchorid.cli", *args], check=True, capture_output=True, text=True, env=env
    ).stdout


def idp_env(folder: Path, jlis_url: str, idp_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "ANCHORID_DATA_DIR": str(folder / "idp"),
        "DJANGO_SETTINGS_MODULE": "anchorid.idp.settings",
        "ANCHORID_KEYSTORE_PASSPHRASE": PASSPHRASE,
        "ANCHORID_JLIS_URL": jlis_url,
        "ANCHORID_IDP_ORIGIN": f"http://localhost:{idp_port}",
        "ANCHORID_INSECURE_COOKIES": "1",
        "ANCHORID_RATE_LIMITS": RATE_LIMITS,
        "ANCHORID_LOG_LEVEL": "ERROR",
    }


# -- 1. onboarding verifications --------------------------------------------------------------------------------


def card_submissions(cards: list[dict[str, Any]], origin: str) -> list[dict[str, str]]:
    """Each adult card signs one onboarding challenge (the submission the card helper would post)."""
    import base64

    from cryptography.hazmat.primitives.serialization import Encoding

    from anchorid.jpki.client import JPKICard
    from anchorid.jpki.transport import EmulatorTransport

    submissions = []
    for number, card in enumerate(c for c in cards if c["has_signature_certificate"]):
        text = f"anchorid-onboarding/1 {origin} benchmark-{number:04d}-{os.urandom(16).hex()}"
        client = JPKICard(EmulatorTransport(Path(card["card_file"])))
        certificate = client.read_signature_certificate(card["signature_pin"])
        signature = client.sign(text.encode(), pin=card["signature_pin"])
        submissions.append(
            {
                "challenge": text,
                "certificate": base64.b64encode(certificate.public_bytes(Encoding.DER)).decode(),
                "signature": base64.b64encode(signature).decode(),
            }
        )
    return submissions


def _verify_worker(env: dict[str, str], submissions: list[dict[str, str]], seconds: float, out: Any) -> None:
    os.environ.update(env)
    import django

    django.setup()
    from anchorid.idp.onboarding.verification import parse_submission, verify_card_signature

    parsed = [parse_submission(json.dumps(s).encode()) for s in submissions]
    verify_card_signature(parsed[0])  # warm: trust anchors loaded, connections open
    count = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        verify_card_signature(parsed[count % len(parsed)])
        count += 1
    out.put(count)


def verifications_per_second(
    env: dict[str, str], submissions: list[dict[str, str]], processes: int, seconds: float
) -> float:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [
        context.Process(target=_verify_worker, args=(env, submissions, seconds, queue)) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    total = sum(queue.get(timeout=seconds + 120) for _ in workers)
    for worker in workers:
        worker.join()
    return total / seconds


# -- 2. passkey logins ------------------------------------------------------------------------------------------


def make_passkey_accounts(env: dict[str, str], count: int) -> list[dict[str, Any]]:
    """Accounts with one passkey each, written straight into the idp database (registration is not measured)."""
    script = """
import json, os, sys
import django
django.setup()
from webauthn.helpers import bytes_to_base64url
from anchorid.idp.accounts.models import Account
from anchorid.idp.passkeys.models import Passkey
sys.path.insert(0, os.path.join(os.environ["REPO"], "tests", "idp"))
from webauthn_authenticator import SoftAuthenticator
from cryptography.hazmat.primitives import serialization
out = []
origin = os.environ["ANCHORID_IDP_ORIGIN"]
for i in range(int(sys.argv[1])):
    account = Account.objects.create_user(f"bench-{i}")
    authenticator = SoftAuthenticator(origin=origin, rp_id="localhost", user_handle=account.pk.bytes)
    Passkey.objects.create(account=account, credential_id=bytes_to_base64url(authenticator.credential_id),
                           public_key=authenticator._cose_key(), name="bench")
    pem = authenticator.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode()
    out.append({"account": str(account.pk), "credential_id": authenticator.credential_id.hex(), "key": pem})
print(json.dumps(out))
"""
    result = subprocess.run(
        [PYTHON, "-c", script, str(count)], check=True, capture_output=True, text=True, env={**env, "REPO": str(REPO)}
    )
    loaded: list[dict[str, Any]] = json.loads(result.stdout)
    return loaded


def _login_worker(origin: str, base: str, account: dict[str, Any], seconds: float, first_count: int, out: Any) -> None:
    sys.path.insert(0, str(REPO / "tests" / "idp"))
    import uuid

    from cryptography.hazmat.primitives import serialization
    from webauthn_authenticator import SoftAuthenticator

    key = serialization.load_pem_private_key(account["key"].encode(), None)
    authenticator = SoftAuthenticator(
        origin=origin,
        rp_id="localhost",
        key=key,  # type: ignore[arg-type]
        credential_id=bytes.fromhex(account["credential_id"]),
        user_handle=uuid.UUID(account["account"]).bytes,
        sign_count=first_count,  # a repeat continues the counter: the idp rightly refuses a counter going back
    )
    session = requests.Session()
    session.get(f"{base}/login/passkey/").raise_for_status()
    # The browser's origin (localhost) is inside the signed client data; HTTP goes to 127.0.0.1, which is also
    # what Django's CSRF check compares the Origin header with.
    headers = {"X-CSRFToken": session.cookies["csrftoken"], "Referer": base + "/login/passkey/", "Origin": base}

    def login() -> None:
        options = session.post(f"{base}/login/passkey/options/", headers=headers)
        options.raise_for_status()
        finish = session.post(f"{base}/login/passkey/finish/", data=authenticator.get(options.json()), headers=headers)
        if finish.status_code != 200 or not finish.json().get("ok"):
            raise RuntimeError(f"login refused: {finish.status_code} {finish.text[:200]}")
        headers["X-CSRFToken"] = session.cookies.get("csrftoken", headers["X-CSRFToken"])

    login()  # warm-up, and proof that a login really succeeds
    count = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        login()
        count += 1
    out.put(count)


def logins_per_second(
    origin: str, base: str, accounts: list[dict[str, Any]], seconds: float, first_count: int
) -> float:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [
        context.Process(target=_login_worker, args=(origin, base, a, seconds, first_count, queue)) for a in accounts
    ]
    for worker in workers:
        worker.start()
    total = sum(queue.get(timeout=seconds + 120) for _ in workers)
    for worker in workers:
        worker.join()
    return total / seconds


def worker_rss_mib(server_pid: int) -> list[float]:
    """VmRSS of the server's child processes (Granian's workers), in MiB."""
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    sizes = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2, help="verifier processes, idp workers, login clients")
    parser.add_argument("--residents", type=int, default=12)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cli(
            "jlis",
            "seed",
            "--data",
            str(folder / "jlis"),
            "--residents",
            str(args.residents),
            "--cards-dir",
            str(folder / "cards"),
        )
        cards = json.loads((folder / "cards" / "INDEX.json").read_text())["cards"]
        jlis_port, idp_port = free_port(), free_port()
        jlis_url = f"http://127.0.0.1:{jlis_port}"
        env = idp_env(folder, jlis_url, idp_port)
        origin = env["ANCHORID_IDP_ORIGIN"]
        with server(
            [PYTHON, "-m", "anchorid.cli", "serve", "jlis", "--port", str(jlis_port), "--data", str(folder / "jlis")],
            jlis_port,
        ):
            cli("idp", "jlis-setup", "--data", str(folder / "idp"), "--jlis", jlis_url, env=env)
            submissions = card_submissions(cards, origin)
            verify_rates = [
                verifications_per_second(env, submissions, args.processes, args.seconds) for _ in range(args.repeats)
            ]

            accounts = make_passkey_accounts(env, args.processes)
            with server(
                [
                    PYTHON,
                    "-m",
                    "anchorid.cli",
                    "serve",
                    "idp",
                    "--port",
                    str(idp_port),
                    "--data",
                    str(folder / "idp"),
                    "--workers",
                    str(args.processes),
                ],
                idp_port,
                env=env,
            ) as idp:
                base = f"http://127.0.0.1:{idp_port}"
                login_rates = [
                    logins_per_second(origin, base, accounts, args.seconds, first_count=run * 10**7)
                    for run in range(args.repeats)
                ]
                rss = worker_rss_mib(idp.pid)

    def runs(rates: list[float]) -> str:
        return ", ".join(f"{r:.0f}" for r in rates)

    print(f"# ID platform — {today()} — {machine()}")
    print(
        f"onboarding verifications/s ({args.processes} processes, OCSP to a local jlis): "
        f"median {statistics.median(verify_rates):.0f} (runs: {runs(verify_rates)})"
    )
    print(
        f"passkey logins/s ({args.processes} idp workers, {args.processes} clients): "
        f"median {statistics.median(login_rates):.0f} (runs: {runs(login_rates)})"
    )
    print(f"idp worker RSS after the login runs: {', '.join(f'{m:.0f} MiB' for m in rss)}")


if __name__ == "__main__":
    main()
