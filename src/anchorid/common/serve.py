"""``anchorid serve PARTY``: create and migrate the party's database, then serve it with Granian (WSGI)."""

from __future__ import annotations

import os
from pathlib import Path

PARTIES = ("jlis", "idp", "city", "providers")
#: The package of a party whose name on the command line differs from it.
PACKAGES = {"providers": "providersim"}
#: The setting that names where browsers reach a party (its issuer, for the idp); unset, it is the port served.
ORIGIN_SETTINGS = {
    "idp": "ANCHORID_IDP_ORIGIN",
    "city": "ANCHORID_CITY_ORIGIN",
    "providers": "ANCHORID_PROVIDERS_ORIGIN",
}


def prepare_party(party: str, data_dir: Path, *, check: bool = False) -> None:
    """Point Django at the party's settings and data folder, and migrate its database. With ``check`` (a server
    about to start), first refuse to go on without the settings the party needs (``anchorid.common.startup``)."""
    if party not in PARTIES:
        raise SystemExit(f"unknown party {party!r}; choose one of {', '.join(PARTIES)}")
    from anchorid.common.datafiles import restrict_new_files, secure_data_dir

    restrict_new_files()
    secure_data_dir(data_dir)  # 0700 folders and 0600 files, also in a folder an earlier version made
    os.environ["ANCHORID_DATA_DIR"] = str(data_dir.resolve())
    os.environ["DJANGO_SETTINGS_MODULE"] = f"anchorid.{PACKAGES.get(party, party)}.settings"
    import django
    from django.core.management import call_command

    django.setup()
    if check:
        from anchorid.common.startup import refuse_to_start_unless_ready

        refuse_to_start_unless_ready(party)  # before anything is migrated or listens
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    # Server workers open their own connections; none may inherit this one.
    from django.db import connections

    connections.close_all()


def _spawn_background_work() -> None:
    """The idp's background threads (audit checkpoints, Shared Signals delivery, the lifecycle job runner, the
    signing archive renewal) run in a
    process of their own, spawned (not forked) before the server starts. Granian forks its workers from this
    process: forking while those threads hold a lock (SQLite's, logging's, an import lock) would leave a worker
    that waits forever on its first request. The child ends when this process does."""
    import multiprocessing

    multiprocessing.get_context("spawn").Process(
        target=run_background_work, args=(os.getpid(),), name="anchorid-idp-background", daemon=True
    ).start()


def run_background_work(parent: int) -> None:
    """In the spawned child: the idp's settings and data folder come with the environment ``prepare_party`` set."""
    import time

    import django

    django.setup()
    from anchorid.idp.audit.schedule import start_in_background
    from anchorid.idp.lifecycle.jobs import start_in_background as start_lifecycle_runner
    from anchorid.idp.signing.archive import start_in_background as start_archive_renewal
    from anchorid.idp.ssf.delivery import start_in_background as start_ssf_delivery

    start_in_background()
    start_ssf_delivery()
    start_lifecycle_runner()
    start_archive_renewal()
    while os.getppid() == parent:  # orphaned (the server was killed): stop too
        time.sleep(1)


def serve(party: str, port: int, data_dir: Path, host: str = "127.0.0.1", workers: int = 1) -> None:
    """Serve the party until interrupted. Blocks. The party's origin setting defaults to ``http://localhost:PORT``
    (a browser's secure context over plain HTTP), so ``--port`` alone moves the issuer and the redirect URIs too."""
    if party in ORIGIN_SETTINGS:
        os.environ.setdefault(ORIGIN_SETTINGS[party], f"http://localhost:{port}")
    from anchorid.common import metrics_folder

    # Before anything imports prometheus_client: every process of this server (Granian's workers, the idp's
    # background process) counts into DATA/metrics, emptied now, and /metrics adds them up.
    metrics_folder.prepare(data_dir, clean=True)
    prepare_party(party, data_dir, check=True)
    from django.conf import settings
    from granian import Granian

    if party == "idp":
        _spawn_background_work()

    Granian(
        f"anchorid.{PACKAGES.get(party, party)}.wsgi:application",
        address=host,
        port=port,
        interface="wsgi",  # type: ignore[arg-type]
        workers=workers,
        blocking_threads=8,
        log_enabled=True,
        log_level="warning",  # type: ignore[arg-type]
        log_access=False,
        static_path_route=[settings.STATIC_URL.rstrip("/")],
        static_path_mount=[Path(settings.STATIC_ROOT)],
    ).serve()
