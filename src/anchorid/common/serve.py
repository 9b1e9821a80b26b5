"""``anchorid serve PARTY``: create and migrate the party's database, then serve it with Granian (WSGI)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from anchorid.common.worker.embedded import EmbeddedWorker

PARTIES = ("jlis", "idp", "city", "providers", "participation", "currency", "library")
#: The package of a party whose name on the command line differs from it.
PACKAGES = {"providers": "providersim"}
#: The setting that names where browsers reach a party (its issuer, for the idp); unset, it is the port served.
ORIGIN_SETTINGS = {
    "idp": "ANCHORID_IDP_ORIGIN",
    "city": "ANCHORID_CITY_ORIGIN",
    "providers": "ANCHORID_PROVIDERS_ORIGIN",
    "participation": "ANCHORID_PARTICIPATION_ORIGIN",
    "currency": "ANCHORID_CURRENCY_ORIGIN",
    "library": "ANCHORID_LIBRARY_ORIGIN",
}


def use_party_settings(party: str, data_dir: Path) -> None:
    """Point Django at the party's settings module and data folder (before ``django.setup()``)."""
    if party not in PARTIES:
        raise SystemExit(f"unknown party {party!r}; choose one of {', '.join(PARTIES)}")
    os.environ["ANCHORID_DATA_DIR"] = str(data_dir.resolve())
    os.environ["DJANGO_SETTINGS_MODULE"] = f"anchorid.{PACKAGES.get(party, party)}.settings"


def prepare_party(party: str, data_dir: Path, *, check: bool = False, migrate: bool = True) -> None:
    """Point Django at the party's settings and data folder, and migrate its database (unless ``migrate`` is False:
    a worker leaves that to the server). With ``check`` (a server
    about to start), first refuse to go on with a setting that does not parse (``anchorid.common.config``) or
    without the settings the party needs (``anchorid.common.startup``; with ``ANCHORID_ENV=production`` also the
    production checks of ``anchorid check PARTY --deploy``)."""
    from anchorid.common.datafiles import restrict_new_files, secure_data_dir

    use_party_settings(party, data_dir)
    if check:
        from anchorid.common.config import refuse_unparsable

        refuse_unparsable(party, f"anchorid {'serve' if migrate else 'worker'} {party}")
    restrict_new_files()
    secure_data_dir(data_dir)  # 0700 folders and 0600 files, also in a folder an earlier version made
    import django
    from django.core.management import call_command

    django.setup()
    if check:
        from anchorid.common.startup import refuse_to_start_unless_ready

        refuse_to_start_unless_ready(party)  # before anything is migrated or listens
    if migrate:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
    # Server workers open their own connections; none may inherit this one.
    from django.db import connections

    connections.close_all()


def wait_for_migrations(party: str, timeout: float | None = None) -> None:
    """Wait until the party's database is migrated (by ``anchorid serve``, which owns migrations): a worker started
    beside a server must not migrate at the same time."""
    import time

    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    deadline = None if timeout is None else time.monotonic() + timeout
    said = False
    while True:
        try:
            executor = MigrationExecutor(connections["default"])
            pending: list[object] = list(executor.migration_plan(executor.loader.graph.leaf_nodes()))
        except Exception as error:  # the database is not there yet
            pending = [error]
        connections.close_all()
        if not pending:
            return
        if deadline is not None and time.monotonic() > deadline:
            raise SystemExit(f"anchorid worker {party}: the database is not migrated; start `anchorid serve {party}`")
        if not said:
            print(f"anchorid worker {party}: waiting for `anchorid serve {party}` to migrate the database", flush=True)
            said = True
        time.sleep(2)


def run_worker(party: str, data_dir: Path) -> int:
    """``anchorid worker PARTY``: the party's background jobs in the foreground until SIGTERM or Ctrl-C (a service
    manager such as systemd restarts it when it dies: ``Restart=always``)."""
    import signal
    import threading

    from anchorid.common import metrics_folder

    # Count into the same DATA/metrics as the server on this machine (without emptying it): its /metrics shows the
    # jobs' counters too. On a machine of its own the database gauges still reach every instance's /metrics.
    metrics_folder.prepare(data_dir, clean=False)
    prepare_party(party, data_dir, check=True, migrate=False)
    wait_for_migrations(party)
    from anchorid.common.worker.registry import party_jobs
    from anchorid.common.worker.supervisor import Worker

    jobs = party_jobs(party)
    if not jobs:
        print(f"anchorid worker {party}: this party has no background jobs", flush=True)
        return 0
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    worker = Worker(party, jobs)
    print(f"anchorid worker {party}: {worker.instance}: {', '.join(job.name for job in jobs)}", flush=True)
    worker.run(stop)
    return 0


def embedded_worker(party: str, shutting_down: Callable[[], bool]) -> EmbeddedWorker | None:
    """The supervised worker child of ``anchorid serve`` (None when the party has no jobs or it is turned off)."""
    from anchorid.common.worker import conf
    from anchorid.common.worker.embedded import EmbeddedWorker
    from anchorid.common.worker.registry import party_jobs

    if not conf.embedded_enabled() or not party_jobs(party):
        return None
    return EmbeddedWorker(party, shutting_down)


def serve(
    party: str, port: int, data_dir: Path, host: str = "127.0.0.1", workers: int | None = None, *, worker: bool = True
) -> None:
    """Serve the party until interrupted. Blocks. The party's origin setting defaults to ``http://localhost:PORT``
    (a browser's secure context over plain HTTP), so ``--port`` alone moves the issuer and the redirect URIs too.
    Unless ``worker`` is False (``--no-worker``) or ``ANCHORID_WORKER=0``, the party's background jobs run in a
    supervised child process (``anchorid.common.worker.embedded``). ``workers`` defaults to ``ANCHORID_WORKERS``
    (1); given, it is what the production checks see too."""
    from anchorid.common import config

    if party in ORIGIN_SETTINGS:
        os.environ.setdefault(ORIGIN_SETTINGS[party], f"http://localhost:{port}")
    if workers is not None:
        os.environ[config.WORKERS.name] = str(workers)
    from anchorid.common import metrics_folder

    # Before anything imports prometheus_client: every process of this server (Granian's workers, the idp's
    # background process) counts into DATA/metrics, emptied now, and /metrics adds them up.
    metrics_folder.prepare(data_dir, clean=True)
    prepare_party(party, data_dir, check=True)
    workers = config.WORKERS.value()
    from django.conf import settings
    from granian import Granian

    server = Granian(
        f"anchorid.{PACKAGES.get(party, party)}.wsgi:application",
        address=host,
        port=port,
        interface="wsgi",  # type: ignore[arg-type]
        workers=workers,
        blocking_threads=config.THREADS.value(),
        log_enabled=True,
        log_level="warning",  # type: ignore[arg-type]
        log_access=False,
        static_path_route=[settings.STATIC_URL.rstrip("/")],
        static_path_mount=[Path(settings.STATIC_ROOT)],
    )
    # Granian's signal handler sets interrupt_signal: a worker child killed by the same Ctrl-C is not restarted.
    background = embedded_worker(party, lambda: bool(getattr(server, "interrupt_signal", False))) if worker else None
    if background is not None:
        background.start()
    try:
        server.serve()
    finally:
        if background is not None:
            background.stop()
