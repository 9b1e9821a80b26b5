"""``anchorid idp guardians transitions --data DIR [--today YYYY-MM-DD]``: the children's transitions now (the
sweep runs them too): re-anchored on the signature certificate from 15, guardianship ended at 18. ``--today``
moves the clock the ages are computed on (tests, the demo); prints what changed as JSON."""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path
from typing import Any


def _transitions(args: argparse.Namespace) -> int:
    from anchorid.common.serve import prepare_party

    prepare_party("idp", Path(args.data))
    from anchorid.idp.guardians import transitions

    today = datetime.date.fromisoformat(args.today) if args.today else None
    done = transitions.run(today)
    print(json.dumps({"reanchored": done.reanchored, "ended": done.ended, "waiting": done.waiting}))
    return 0


def add_guardian_commands(idp_commands: Any) -> None:
    guardians = idp_commands.add_parser("guardians", help="children's accounts and their guardians")
    verbs = guardians.add_subparsers(dest="guardians_command", required=True, metavar="VERB")
    run = verbs.add_parser("transitions", help="re-anchor children at 15 and end guardianships at 18, now")
    run.add_argument("--data", required=True, help="the idp's data folder")
    run.add_argument("--today", help="the date the ages are computed on (default: today)")
    run.set_defaults(func=_transitions)
