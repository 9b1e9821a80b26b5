"""A party's data folder after it starts and writes: every folder 0700, every file 0600 (databases, WAL and SHM,
keys, secrets, cards), also when an earlier version left the folder world-readable."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import requests

from support.jlis_server import READY_PATH, free_port, seed_jlis, stop, wait_for

PASSPHRASE = "data-folder test passphrase"


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    return {**clean, "ANCHORID_JLIS_CA_PASSPHRASE": PASSPHRASE}


def loose_entries(folder: Path) -> list[str]:
    """Everything under ``folder`` (itself included) that group or others may read, write or enter."""
    loose = []
    for path in [folder, *folder.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_symlink():
            continue
        expected = 0o700 if path.is_dir() else 0o600
        if mode != expected:
            loose.append(f"{path.relative_to(folder.parent)} {oct(mode)}")
    return loose


def test_it_keeps_every_file_of_a_serving_party_0600_and_every_folder_0700(tmp_path: Path) -> None:
    data = tmp_path / "jlis"
    # What an earlier version left: a world-readable folder and a world-readable file in it.
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)  # noqa: S103 -- the state under test
    (data / "notes.txt").write_text("left by an earlier version")
    os.chmod(data / "notes.txt", 0o644)
    seed_jlis(env(), data, residents=2, seed=5)  # the CLI writes the database, the CA keys and the card files
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "anchorid.cli", "serve", "jlis", "--port", str(port), "--data", str(data)],
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(url + READY_PATH, server, "jlis")
        assert requests.get(url + "/admin/login/", timeout=10).status_code == 200  # a page that writes a session
        names = {path.name for path in data.rglob("*")}
        assert {"jlis.sqlite3", "secret_key"} <= names
        assert any(path.name.endswith(".key.json") for path in (data / "jlis-keys").iterdir())  # the CA keys
        assert any(path.name.endswith(".card.json") for path in (data / "cards").iterdir())
        assert loose_entries(data) == []
        # The WAL and shared-memory files exist while a connection is open; SQLite creates them with the database
        # file's mode, whatever the opener's umask: open one from here with a permissive umask to see them.
        previous = os.umask(0o022)
        try:
            with closing(sqlite3.connect(data / "jlis.sqlite3")) as connection:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("SELECT count(*) FROM django_session").fetchone()
                assert (data / "jlis.sqlite3-wal").exists()
                assert (data / "jlis.sqlite3-shm").exists()
                assert loose_entries(data) == []
        finally:
            os.umask(previous)
    finally:
        stop(server)
    assert loose_entries(data) == []
