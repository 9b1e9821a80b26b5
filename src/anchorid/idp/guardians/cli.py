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


def _counter_staff(args: argparse.Namespace) -> int:
    """A counter staff login (password on standard input): may use /staff/guardians/ and nothing else."""
    import sys

    from anchorid.common.serve import prepare_party

    prepare_party("idp", Path(args.data))
    from django.contrib.auth.models import Permission

    from anchorid.idp.accounts.models import Account

    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 12:
        print("the password must have at least 12 characters", file=sys.stderr)
        return 2
    account = Account.objects.filter(handle=args.username).first()
    if account is None:
        account = Account.objects.create_user(args.username, password, kind=Account.Kind.STAFF, is_staff=True)
    elif account.kind != Account.Kind.STAFF:
        print(f"{args.username} is a resident's account, not a staff login", file=sys.stderr)
        return 2
    else:
        account.set_password(password)
        account.is_staff = True
        account.save()
    account.user_permissions.add(
        Permission.objects.get(codename="confirm_at_counter", content_type__app_label="guardians")
    )
    print(f"counter staff {account.handle} ready: log in at /admin/login/?next=/staff/guardians/")
    return 0


def add_guardian_commands(idp_commands: Any) -> None:
    guardians = idp_commands.add_parser("guardians", help="children's accounts and their guardians")
    verbs = guardians.add_subparsers(dest="guardians_command", required=True, metavar="VERB")
    run = verbs.add_parser("transitions", help="re-anchor children at 15 and end guardianships at 18, now")
    run.add_argument("--data", required=True, help="the idp's data folder")
    run.add_argument("--today", help="the date the ages are computed on (default: today)")
    run.set_defaults(func=_transitions)
    staff = verbs.add_parser("counter-staff", help="create or update a counter staff login (password on stdin)")
    staff.add_argument("--data", required=True, help="the idp's data folder")
    staff.add_argument("--username", required=True)
    staff.set_defaults(func=_counter_staff)
