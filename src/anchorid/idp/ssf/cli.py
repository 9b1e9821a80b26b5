"""``anchorid idp ssf deliver|status``: the Shared Signals outbox from the shell.

- ``anchorid idp ssf deliver --data DIR [--once] [--threads N]``: run the push delivery worker in the foreground
  (``--once``: deliver what is due now, then exit, printing the counts as JSON). ``anchorid serve idp`` runs the
  same worker in a thread, so this is for a dedicated delivery process or a cron-style run.
- ``anchorid idp ssf status --data DIR``: the outbox's counts by state, as JSON.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path
from typing import Any

EXIT_OK = 0


def _prepare(data: str) -> None:
    from anchorid.common.serve import prepare_party

    prepare_party("idp", Path(data))


def _deliver(args: argparse.Namespace) -> int:
    _prepare(args.data)
    from anchorid.idp.ssf import delivery

    if args.once:
        from anchorid.idp.ssf import backchannel

        stats = delivery.run_once()
        expired = delivery.dead_letter_expired()
        logouts = backchannel.retry_due()
        print(
            json.dumps(
                {
                    "delivered": stats.delivered,
                    "dead": stats.dead + expired,
                    "retried": stats.retried,
                    "logouts_delivered": logouts,
                }
            )
        )
        return EXIT_OK
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    threads = [
        threading.Thread(target=delivery.run_forever, args=(stop,), name=f"ssf-delivery-{i}")
        for i in range(args.threads or delivery.worker_threads())
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    _prepare(args.data)
    from anchorid.idp.ssf import delivery

    print(json.dumps(delivery.summary(), sort_keys=True))
    return EXIT_OK


def add_ssf_commands(idp_commands: Any) -> None:
    ssf = idp_commands.add_parser("ssf", help="Shared Signals: deliver queued security events")
    ssf_commands = ssf.add_subparsers(dest="ssf_command", required=True, metavar="COMMAND")
    deliver = ssf_commands.add_parser("deliver", help="run the push delivery worker")
    deliver.add_argument("--data", required=True, help="the idp's data folder")
    deliver.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
    deliver.add_argument("--threads", type=int, default=0, help="worker threads (default ANCHORID_SSF_WORKER_THREADS)")
    deliver.set_defaults(func=_deliver)
    status = ssf_commands.add_parser("status", help="the outbox's counts by state (JSON)")
    status.add_argument("--data", required=True, help="the idp's data folder")
    status.set_defaults(func=_status)
