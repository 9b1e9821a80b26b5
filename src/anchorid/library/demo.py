"""The e-library's part of ``anchorid demo`` (port base+6): set-up, the sample collection and the guide lines.

- ``env(library_origin, mail)``: the library's settings (its origin; hold notices written as e-mail files into the
  demo's mail folder, the idp's);
- ``set_up(...)``: first run only (a marker file): keys and the registration at the idp (``anchorid library setup
  --idp-data``); run with the idp's environment;
- ``seed(...)``: every run: the sample collection (idempotent) and a staff login with a fresh password; returns
  the staff credentials;
- ``guide_lines(...)``: what to try, in an order in which every printed command works.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ANCHORID = [sys.executable, "-m", "anchorid.cli"]
MARKER = ".demo-setup-done"
STAFF_USER = "library-staff"


def _run(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    clean = {name: value for name, value in env.items() if name != "DATABASE_URL"}
    done = subprocess.run([*ANCHORID, *args], input=stdin, capture_output=True, text=True, env=clean, check=False)
    if done.returncode != 0:
        raise SystemExit(f"anchorid {' '.join(args[:2])} failed:\n{done.stderr.strip()}")
    return done.stdout


def env(library_origin: str, mail: Path) -> dict[str, str]:
    """``mail``: the demo's e-mail folder, the idp's too (one value of ``ANCHORID_EMAIL_FILE_PATH`` in demo.env)."""
    return {"ANCHORID_LIBRARY_ORIGIN": library_origin, "ANCHORID_EMAIL_FILE_PATH": str(mail.resolve())}


def set_up(library_data: Path, *, idp_origin: str, idp_data: Path, library_origin: str, env: dict[str, str]) -> bool:
    marker = library_data / MARKER
    if marker.exists():
        return False
    library_data.mkdir(parents=True, exist_ok=True)
    _run("library", "setup", "--data", str(library_data), "--idp", idp_origin, "--origin", library_origin,
         "--idp-data", str(idp_data), env=env)  # fmt: skip
    marker.write_text("ok\n")
    return True


def seed(library_data: Path, env: dict[str, str]) -> tuple[str, str]:
    _run("library", "seed", "--data", str(library_data), env={**os.environ, **env})
    password = secrets.token_urlsafe(12)
    _run("library", "staff-add", "--data", str(library_data), "--username", STAFF_USER,
         env={**os.environ, **env}, stdin=password + "\n")  # fmt: skip
    return STAFF_USER, password


def guide_lines(
    *, command: str, library_origin: str, library_data: Path, mail: Path, staff: tuple[str, str]
) -> list[str]:
    return [
        "E-library 電子図書館 (issue #16, docs/library.md):",
        f"  1. {library_origin}/ — 「AnchorIDで利用登録・ログイン」 after onboarding at the idp:",
        "     registered in one step (the library receives only resident_of; the card number shows at once).",
        "  2. search うみべ (a reading in hiragana) → 海辺の図書室; 借りる; the reader shows it in vertical writing,",
        "     pages right to left (◀ is the next page); font size, bookmarks; 返却 on the home page.",
        "     Each title shows its cover; ふうせん → 青い風船のさんぽ, a fixed-layout picture book (SVG pages).",
        "  3. hold a title that is out (another patron borrowed it): when it comes back the notice shows in-app",
        f"     and, with an e-mail address given on the home page, as an e-mail file in {mail.resolve()}",
        "  4. someone who lives elsewhere is refused with a message; a commuter registers with a counter code:",
        f"     {command} library grant --data {library_data.resolve()} --category commuter",
        f"  5. staff (acquisitions, licence expiry, statistics, patron support): {library_origin}/staff/login/ "
        f"{staff[0]} / {staff[1]}",
    ]
