"""The guardians' and the adoption dashboard's part of ``anchorid demo`` (issue #18): a household at J-LIS with a
child under 15 (card with the authentication certificate only), the city's synthetic card-issuance table, and the
printed guardian steps.

- ``set_up(data, jlis_data, env)``: first run only (``DATA/family.json``): ``anchorid jlis family`` (a parent and a
  child whose 15th birthday is in 30 days). The city's synthetic table: ``anchorid.city.adoption.demo.set_up``.
- ``guide_lines(...)``: the guardian flow step by step, the 15th birthday with the clock moved, the dashboard.
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

ANCHORID = [sys.executable, "-m", "anchorid.cli"]
FAMILY_FILE = "family.json"
CITY_TABLE_FILE = "city-card-issuance-demo.csv"  # written by anchorid.city.adoption.demo.set_up


def _run(*args: str, env: dict[str, str]) -> str:
    clean = {name: value for name, value in env.items() if name != "DATABASE_URL"}
    done = subprocess.run([*ANCHORID, *args], capture_output=True, text=True, env=clean, check=False)
    if done.returncode != 0:
        raise SystemExit(f"anchorid {' '.join(args[:3])} failed:\n{done.stderr.strip()}")
    return done.stdout


def set_up(data: Path, jlis_data: Path, *, jlis_env: dict[str, str]) -> dict[str, Any]:
    """The demo family (once); returns the family's INDEX entries."""
    family_file = data / FAMILY_FILE
    if not family_file.exists():
        turns_15 = datetime.date.today() + datetime.timedelta(days=30)
        family = _run("jlis", "family", "--data", str(jlis_data), "--cards-dir", str(data / "cards"),
                      "--child-turns-15-on", turns_15.isoformat(), env={**os.environ, **jlis_env})  # fmt: skip
        family_file.write_text(family)
        family_file.chmod(0o600)
    loaded: dict[str, Any] = json.loads(family_file.read_text())
    return loaded


COUNTER_FILE = "counter-staff.txt"
COUNTER_USER = "counter"


def counter_staff(data: Path, idp_data: Path, *, idp_env: dict[str, str]) -> str:
    """The idp's counter staff login for the guardian confirmation at the counter (once); returns its password."""
    password_file = data / COUNTER_FILE
    if not password_file.exists():
        password = secrets.token_urlsafe(12)
        clean = {name: value for name, value in {**os.environ, **idp_env}.items() if name != "DATABASE_URL"}
        done = subprocess.run([*ANCHORID, "idp", "guardians", "counter-staff", "--data", str(idp_data), "--username",
                               COUNTER_USER], input=password + "\n", capture_output=True, text=True, env=clean,
                              check=False)  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"anchorid idp guardians counter-staff failed:\n{done.stderr.strip()}")
        password_file.write_text(password)
        password_file.chmod(0o600)
    return password_file.read_text().strip()


def guide_lines(
    *, command: str, family: dict[str, Any], idp_origin: str, city_origin: str, data: Path, idp_data: Path,
    jlis_data: Path, city_data: Path, counter_password: str | None = None,
) -> list[str]:  # fmt: skip
    guardian, child = family["guardian"], family["child"]
    birthday = datetime.date.fromisoformat(child["birth_date"])
    turns_15 = birthday.replace(year=birthday.year + 15)
    counter = [
        "  Or at the city counter (when the register cannot confirm it): at step 3 press 市役所の窓口で確認する;",
        "  your 子どものアカウント page shows a code. Counter staff log in at",
        f"  {idp_origin}/admin/login/?next=/staff/guardians/  user {COUNTER_USER}  password {counter_password}",
        "  type the code, check the documents and the child's attributes, and confirm.",
    ] if counter_password else []  # fmt: skip
    return [
        "Children and guardians (docs/guardians.md): a child under 15's card has the user-authentication certificate",
        "only (no attributes, a 4-digit PIN); a guardian with a full account opens the child's account:",
        f"  1. The guardian registers with their own card (signature PIN {guardian['signature_pin']}), in a browser",
        f"     profile of their own: {idp_origin}/onboarding/ with this card helper running:",
        f"  {command} card-helper --card {guardian['card_file']} --idp-origin {idp_origin}",
        f"  2. {idp_origin}/me/children/ → 子どもを追加; stop the helper and start it with the child's card",
        f"     (the child's 4-digit PIN: {child['authentication_pin']}), then press 子どものカードを使う:",
        f"  {command} card-helper --card {child['card_file']} --idp-origin {idp_origin}",
        "  3. Start the guardian's helper again (step 1's command) and press 自分のカードで確認する: J-LIS confirms in",
        "     the resident register that you are the child's parent and gives the child's attributes.",
        "  4. 子どもの端末用の設定リンクを作る: open the link in another browser profile (the child's device), use",
        "     the child's card once (step 2's helper), add a passkey.",
        f"  5. As the child, log in at {city_origin}/ → 保護者の方が決めます; as the guardian, approve the city at",
        f"     {idp_origin}/me/children/ (untick what you like); the child's next login at the city goes through.",
        *counter,
        "  The 15th birthday, with the clock moved: the counter issues the signature certificate, the watcher",
        "  re-anchors the child's account on it (history kept) and narrows the guardian's role; at 18 it ends:",
        f"  {command} jlis reissue-signature --data {jlis_data} --resident {child['resident_id']} "
        f"--at {turns_15.isoformat()}T10:00:00+09:00",
        f"  {command} idp guardians transitions --data {idp_data} --today {turns_15.isoformat()}",
        "",
        "Adoption analytics for the city (docs/city.md): staff log in at the city's staff pages, then",
        f"  {city_origin}/staff/adoption/ — card issuance in Japan and in the city (a synthetic table,",
        f"  {data / CITY_TABLE_FILE}), the deck's observations computed from the table, AnchorID's own adoption",
        "  (k-anonymous counts from the idp: cells under 10 hidden) and where to act. Read the counts now:",
        f"  {command} city adoption fetch --data {city_data}",
    ]
