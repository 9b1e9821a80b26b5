"""A party's data folder is its own: folders 0700, files 0600, from the first write.

Databases (SQLite and its ``-wal``/``-shm`` files), keys, secrets, card files, logs and e-mails written as files
hold residents' data or what protects it; nobody else on the machine has a reason to read them. Two measures:

- ``restrict_new_files()`` sets the process umask to 077, so everything the process creates afterwards — by our
  code, by SQLite, by Django's file storage, by the demo's log redirection — is created without group or other
  permissions (SQLite gives ``-wal`` and ``-shm`` the database file's mode). ``anchorid`` (every command, including
  ``serve`` and ``demo``) and the shared settings call it first, so Granian's workers, forked from ``serve``,
  inherit it too.
- ``secure_data_dir(path)`` creates the folder 0700, or tightens one created by an earlier version (when folders
  were 0755 and databases 0644): every folder below becomes 0700 and every file 0600. ``anchorid serve`` calls it
  before anything is written.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def restrict_new_files() -> None:
    """Files and folders this process creates from now on are readable by their owner only."""
    os.umask(PRIVATE_UMASK)


def secure_data_dir(path: Path) -> None:
    """Create ``path`` (0700) if needed; make every folder in it 0700 and every regular file 0600."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    for root, dirs, files in os.walk(path):
        for name in dirs:
            _restrict(Path(root) / name, DIR_MODE)
        for name in files:
            _restrict(Path(root) / name, FILE_MODE)


def _restrict(path: Path, mode: int) -> None:
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):  # a link is not ours to change; what it points to may be shared on purpose
        return
    if stat.S_IMODE(info.st_mode) & ~mode:
        os.chmod(path, stat.S_IMODE(info.st_mode) & mode)
