"""``anchorid check PARTY [--deploy]``: every problem with a party's settings, without starting it.

First every setting of the party is parsed (``anchorid.common.config``); then Django is set up with the party's
settings and its startup checks run (what ``anchorid serve`` refuses to start without), and with ``--deploy`` the
production checks (``anchorid.common.deploy_checks``). Every problem is printed, with the setting to change and
how; the exit status is 0 when there is none, 1 otherwise. Nothing is migrated and nothing listens.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def run_check(party: str, data_dir: Path | None, *, deploy: bool, workers: int | None) -> int:
    from anchorid.common import config
    from anchorid.common.serve import use_party_settings

    command = f"anchorid check {party}" + (" --deploy" if deploy else "")
    if workers is not None:
        os.environ[config.WORKERS.name] = str(workers)
    unparsable = config.problems(party)
    if unparsable:
        print(f"{command}: settings that do not parse:", file=sys.stderr)
        for problem in unparsable:
            print(f"  {problem}", file=sys.stderr)
        return 1
    use_party_settings(party, data_dir if data_dir is not None else config.DATA_DIR.value())
    import django

    django.setup()
    from anchorid.common.startup import line, problems

    errors, warnings = problems(deploy=deploy)
    for message in [*errors, *warnings]:
        kind = "error" if message in errors else "warning"
        print(f"{command}: {kind}:\n{line(message)}", file=sys.stderr)
    if errors:
        print(f"{command}: {len(errors)} problem(s); {party} must not be served like this", file=sys.stderr)
        return 1
    print(f"{command}: no problems found")
    return 0
