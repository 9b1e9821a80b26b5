"""A PostgreSQL primary and a streaming replica of it, on this machine, for as long as a test needs them.

Debian's PostgreSQL binaries (``/usr/lib/postgresql/<version>/bin``): ``initdb`` a primary on a free port (trust
authentication on 127.0.0.1, replication allowed -- initdb's own pg_hba.conf), ``pg_basebackup -R`` a copy of it
(streaming WAL, ``standby.signal`` and ``primary_conninfo`` written by ``-R``) and start it as a hot standby on a
second port. Both live in a temporary folder with their sockets; nothing touches the machine's own PostgreSQL
server, its configuration or its users' databases. As root the clusters run as the ``postgres`` user (PostgreSQL
refuses to run as root). fsync is off: the data is thrown away with the folder.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg

from support.jlis_server import free_port


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's binaries (Debian keeps them out of PATH)."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise RuntimeError("PostgreSQL server binaries are not installed (Debian: postgresql)")
    return versions[-1].parent


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *command] if owner else command


@dataclass
class Cluster:
    folder: Path
    port: int
    owner: str | None

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url(database), autocommit=True, connect_timeout=5)

    def run(self, *command: str) -> None:
        binary = str(postgres_bin() / command[0])
        subprocess.run(_as_owner([binary, *command[1:]], self.owner), check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.folder / "data"), "-m", mode, "-w", "-t", "60", "stop")

    @property
    def log(self) -> Path:
        return self.folder / "log"

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def statements_since(self, offset: int, database: str) -> str:
        """The statements this server logged for ``database`` since ``offset`` (a :meth:`log_size`)."""
        with self.log.open("rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", "replace")
        return "\n".join(line for line in text.splitlines() if f"db={database} " in line and "statement:" in line)

    def running(self) -> bool:
        return (self.folder / "data" / "postmaster.pid").exists()


def _configure(cluster: Cluster) -> None:
    settings = (
        f"\nport = {cluster.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{cluster.folder}'\n"
        "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 50\n"
        "shared_buffers = 16MB\nhot_standby = on\n"
        # Every statement in the server's log, with its database: how a test sees which server a query reached.
        "log_statement = 'all'\nlog_line_prefix = '%m [%p] db=%d '\n"
    )
    with (cluster.folder / "data" / "postgresql.conf").open("a") as conf:
        conf.write(settings)


@contextmanager
def primary_and_replica() -> Iterator[tuple[Cluster, Cluster]]:
    """(primary, replica), both accepting connections; the replica streaming from the primary. Stopped and
    removed afterwards."""
    owner = "postgres" if os.geteuid() == 0 else None
    root = Path(f"/tmp/anchorid-replica-{os.getpid()}-{time.monotonic_ns()}")
    root.mkdir(mode=0o700)
    primary = Cluster(root / "primary", free_port(), owner)
    replica = Cluster(root / "replica", free_port(), owner)
    for cluster in (primary, replica):
        cluster.folder.mkdir(mode=0o700)
    if owner:
        entry = pwd.getpwnam(owner)
        for path in (root, primary.folder, replica.folder):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    started: list[Cluster] = []
    try:
        primary.run("initdb", "-D", str(primary.folder / "data"), "-U", "postgres", "-A", "trust", "--no-sync",
                    "-E", "UTF8", "--locale", "C")  # fmt: skip
        _configure(primary)
        primary.start()
        started.append(primary)
        # -R: standby.signal + primary_conninfo; -X stream: the WAL written during the copy comes along.
        replica.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                    "-D", str(replica.folder / "data"), "-R", "-X", "stream", "-c", "fast", "--no-sync")  # fmt: skip
        _configure(replica)  # the copied postgresql.conf names the primary's port: the last setting wins
        replica.start()
        started.append(replica)
        yield primary, replica
    finally:
        for cluster in reversed(started):
            if cluster.running():
                with suppress(subprocess.SubprocessError):
                    cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def wait_for_replay(primary: Cluster, replica: Cluster, timeout: float = 30) -> None:
    """Until the replica has replayed everything the primary had written when this was called."""
    with primary.connect() as connection:
        row = connection.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    assert row is not None
    target = str(row[0])
    deadline = time.monotonic() + timeout
    with replica.connect() as connection:
        while True:
            done = connection.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()
            if done and done[0]:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the replica did not replay up to {target} in {timeout} s")
            time.sleep(0.05)
