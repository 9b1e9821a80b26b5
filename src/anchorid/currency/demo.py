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
    """First run: keys, registration at the idp, the seed. False when already done."""
    marker = data / MARKER
    if marker.exists():
        return False
    data.mkdir(parents=True, exist_ok=True)
    _run("currency", "setup", "--data", str(data), "--idp", idp_origin, "--origin", origin,
         "--idp-data", str(idp_data), env=env)  # fmt: skip
    _run("currency", "seed-demo", "--data", str(data), env={**os.environ, "ANCHORID_CURRENCY_ORIGIN": origin})
    marker.write_text("ok\n")
    return True


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


def guide_lines(*, command: str, origin: str, data: Path) -> list[str]:
    """What to try, in order (each URL opens, each command runs as printed)."""
    return [
        "",
        "Local currency (地域通貨, Kamakura Coin): " + origin + "/",
        f"  1. Open {origin}/ and sign up with AnchorID (the consent screen asks only for resident_of).",
        "     A resident of Kamakura charges with a 10 % campaign premium; a visitor does not.",
        f"  2. Charge, then pay a shop by its static QR: {origin}/pay/... (the shops' links:"
        f" {command} currency seed-demo --data {data}).",
        "  3. Claim the open benefit (once per person; a visitor is refused).",
        f"  4. Register your own shop, approve it as the issuer's staff at {origin}/admin/login/?next=/issuer/"
        f" ({STAFF_USER} / {STAFF_PASSWORD}), open its terminal, show a payment code on your phone and read it.",
        f"  5. Expiry, settlement and the prepaid-instrument report: {command} currency run-jobs --data {data};"
        f" {command} currency settle --data {data}; {command} currency report --data {data}",
        f"  6. Analytics (k = 10 suppression): {origin}/issuer/analytics/",
    ]
