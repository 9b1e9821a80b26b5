"""``anchorid city staff add``: a staff account for the city's staff pages (``/staff/``), with area permissions.

    anchorid city staff add --data DIR --username NAME [--password-stdin] [--areas facilities,lottery,...]

Without ``--password-stdin`` a random password is generated and printed once. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path

AREAS = ("facilities", "lottery", "bookings", "reports", "counter", "counter_payment")


def create_staff(username: str, password: str, areas: tuple[str, ...] = AREAS) -> None:
    """Create or update the staff account (Django set up for the city) with exactly these areas."""
    from django.contrib.auth.models import Permission, User

    unknown = set(areas) - set(AREAS)
    if unknown:
        raise ValueError(f"unknown areas: {', '.join(sorted(unknown))} (choose from {', '.join(AREAS)})")
    account, _ = User.objects.get_or_create(username=username)
    account.is_staff = True
    account.is_active = True
    account.set_password(password)
    account.save()
    account.user_permissions.set(Permission.objects.filter(content_type__app_label="staff", codename__in=areas))


def _add(args: argparse.Namespace) -> int:
    from anchorid.common.serve import prepare_party

    prepare_party("city", Path(args.data))
    areas = tuple(area.strip() for area in args.areas.split(",") if area.strip())
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else secrets.token_urlsafe(12)
    if len(password) < 12:
        print("anchorid city staff add: the password must have at least 12 characters", file=sys.stderr)
        return 2
    try:
        create_staff(args.username, password, areas)
    except ValueError as error:
        print(f"anchorid city staff add: {error}", file=sys.stderr)
        return 2
    shown = {"staff": args.username, "areas": list(areas), "login": "/staff/login/"}
    if not args.password_stdin:
        shown["password"] = password
    print(json.dumps(shown, ensure_ascii=False))
    return 0


def add_staff_commands(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    staff = verbs.add_parser("staff", help="staff accounts for the city's staff pages")
    actions = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create or update a staff account")
    add.add_argument("--data", required=True, help="the city's data folder")
    add.add_argument("--username", required=True)
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--areas", default=",".join(AREAS), help=f"comma-separated, from {','.join(AREAS)}")
    add.set_defaults(func=_add)
