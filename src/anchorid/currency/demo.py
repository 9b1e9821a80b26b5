"""The currency's part of ``anchorid demo``: set-up (keys, registration at the idp), seed (merchants, the campaign,
an open benefit programme, a staff login) and the lines the guide prints.

Wiring in ``anchorid.demo``: ``currency = Party("currency", base_port + 5, data / "currency", "/")`` with
``currency.env = {"ANCHORID_CURRENCY_ORIGIN": currency.origin}``; ``currency_demo.set_up(...)`` before the idp
starts (it writes the registration into the idp's data folder), then start it, then ``guide_lines(...)``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ANCHORID = [sys.executable, "-m", "anchorid.cli"]
MARKER = ".demo-setup-done"
#: The demo's parties all run on localhost: the currency names its own pairwise sector, so a resident's `sub` at the
#: currency differs from the one at the city (docs/currency.md).
SECTOR = "https://coin.kamakura.anchorid.test/"
STAFF_USER = "issuer"
STAFF_PASSWORD = "issuer-demo"  # noqa: S105  (a demo's printed password, on localhost only)
MERCHANTS = (("鎌倉パン工房", "food", True), ("由比ヶ浜書店", "retail", True), ("東京みやげ本舗", "retail", False))


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    clean = {name: value for name, value in (env or dict(os.environ)).items() if name != "DATABASE_URL"}
    done = subprocess.run([*ANCHORID, *args], capture_output=True, text=True, env=clean, check=False)
    if done.returncode != 0:
        raise SystemExit(f"anchorid {' '.join(args[:2])} failed:\n{done.stderr.strip()}")
    return done.stdout


def set_up(data: Path, *, idp_origin: str, idp_data: Path, origin: str, env: dict[str, str]) -> bool:
    """First run: keys and the registration at the idp. False when already done."""
    marker = data / MARKER
    if marker.exists():
        return False
    data.mkdir(parents=True, exist_ok=True)
    _run("currency", "setup", "--data", str(data), "--idp", idp_origin, "--origin", origin,
         "--idp-data", str(idp_data), "--sector-identifier-uri", SECTOR, env=env)  # fmt: skip
    marker.write_text("ok\n")
    return True


def seed_lines(data: Path, origin: str) -> list[str]:
    """Every run: the seed (idempotent); its output lines (the shops and their QR paths, the staff login)."""
    out = _run("currency", "seed-demo", "--data", str(data), env={**os.environ, "ANCHORID_CURRENCY_ORIGIN": origin})
    return [line for line in out.splitlines() if line.strip()]


def seed(*, staff_password: str = STAFF_PASSWORD) -> list[str]:
    """Merchants (two local, approved; one outside the city, approved: benefit coins are not usable there), an
    open benefit for residents of Kamakura, and the issuer's staff login. Idempotent."""
    from django.contrib.auth.models import User

    from anchorid.currency import service
    from anchorid.currency.models import Merchant, Programme

    for code in service.SYSTEM_ACCOUNTS:
        service.system_account(code)
    for name, category, local in MERCHANTS:
        if not Merchant.objects.filter(name=name).exists():
            merchant = service.register_merchant("demo-owner", name, category, local=local)
            service.approve_merchant(merchant)
    if not Programme.objects.exists():
        service.create_programme("鎌倉市 くらし応援給付金", amount=3_000, budget=3_000_000)
    staff = User.objects.filter(username=STAFF_USER).first()
    if staff is None:
        User.objects.create_user(STAFF_USER, password=staff_password, is_staff=True)
    lines = [f"merchant {m.pk}: {m.name} /pay/{m.qr_token}/" for m in Merchant.objects.order_by("pk")]
    return [*lines, f"staff login: {STAFF_USER} / {staff_password}"]


def guide_lines(*, command: str, origin: str, data: Path, seeded: list[str]) -> list[str]:
    """What to try, in order: each URL opens, each command runs as printed."""
    data = data.resolve()
    shops = [line.split(": ", 1)[1] for line in seeded if line.startswith("merchant ")]
    lines = [
        "",
        "Local currency (地域通貨, 鎌倉コイン), its own party: " + origin + "/",
        "  1. Sign up with AnchorID at " + origin + "/ (the consent screen asks only for your municipality).",
        "     A resident of Kamakura gets 10 % more on each charge (the campaign); a visitor does not.",
        "  2. Charge, then pay a shop by the page its static QR code opens (the third shop is outside the city:",
        "     benefit coins are not accepted there):",
    ]
    for shop in shops:
        name, _, path = shop.rpartition(" ")
        lines.append(f"     {name}: {origin}{path}")
    lines += [
        "  3. Claim the open benefit on your wallet page: once per person; a visitor is refused.",
        "  4. Register your own shop (wallet page, For shops), approve it as the issuer's staff"
        f" ({STAFF_USER} / {STAFF_PASSWORD}) at",
        f"     {origin}/admin/login/?next=/issuer/",
        "     then open its terminal, show a payment code on your phone (wallet page) and read it there",
        "     with the camera (or type it); your shop can pay another shop from its page (circulation).",
        f"  4b. Send coins to another resident: they show {origin}/receive/ and you enter it at {origin}/send/",
        "  5. Expiry of lots and unconfirmed payments, with notices (what the worker does every minute):",
        f"{command} currency run-jobs --data {data}",
        "  6. Daily settlement (fee 1.5 %), the prepaid-instrument report, the ledger's invariants:",
        f"{command} currency settle --data {data}",
        f"{command} currency report --data {data}",
        f"{command} currency check-ledger --data {data}",
        f"  7. Analytics for the issuer and the city (groups under 10 people suppressed): {origin}/issuer/analytics/",
    ]
    return lines
