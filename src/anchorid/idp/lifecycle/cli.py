"""``anchorid idp sweep --data DIR``: one lifecycle sweep by hand, through the job runner's lease.

Prints the summary as JSON (checked, newly revoked by reason, expired, refreshed, re-anchored, errors) and exits 0;
exits 1 when the sweep failed (jlis unreachable, CRL rejected: nothing was marked, the failure is recorded and the
scheduled runner retries with backoff) and 2 when another sweep is running now.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BUSY = 2


def _sweep(args: argparse.Namespace) -> int:
    from anchorid.common.serve import prepare_party

    prepare_party("idp", Path(args.data))
    from anchorid.idp.lifecycle import jobs

    try:
        result = jobs.run_job(jobs.SWEEP, jobs.sweep_work("manual"), force=True)
    except jobs.LeaseHeld as error:
        print(f"anchorid: {error}", file=sys.stderr)
        return EXIT_BUSY
    assert result is not None
    if not result.ok:
        print(f"anchorid: sweep failed, nothing was marked: {result.error}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(result.value.as_json(), indent=1, sort_keys=True))
    return EXIT_OK


def add_lifecycle_commands(idp_commands: Any) -> None:
    sweep = idp_commands.add_parser(
        "sweep", help="check every account's anchor certificate against jlis's CRL now (prints a summary)"
    )
    sweep.add_argument("--data", required=True, help="the idp's data folder")
    sweep.set_defaults(func=_sweep)
