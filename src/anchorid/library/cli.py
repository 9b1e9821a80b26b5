"""``anchorid library setup|seed|grant|card-code``: the e-library's keys and registration, its sample collection,
and the counter's one-time codes.

    anchorid library setup --data DIR --idp URL [--origin URL] [--idp-data IDP_DIR]
    anchorid library seed --data DIR                    # the sample collection (synthetic EPUBs) and a budget
    anchorid library grant --data DIR --category commuter   # a registration code for a non-resident category
    anchorid library card-code --data DIR --card NUMBER     # a code that links a physical card
    anchorid library staff-add --data DIR --username NAME   # a staff login (password on standard input)
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

from anchorid.common.rp import setup as rp_setup
from anchorid.library import rp

DEFAULT_ORIGIN = "http://localhost:8006"
NAME = "鎌倉市電子図書館"


def _setup(args: argparse.Namespace) -> int:
    data_dir = Path(args.data)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    rp_setup.ensure_keys(data_dir)
    config = rp.write_config(data_dir, issuer=args.idp, origin=args.origin)
    command = rp_setup.client_add_command(data_dir, config, name=NAME, idp_data=args.idp_data or "IDP_DATA_DIR",
                                          sector_identifier_uri=rp.SECTOR_IDENTIFIER_URI)  # fmt: skip
    print(f"library keys and configuration in {data_dir.resolve()}")
    if not args.idp_data:
        print("register the library at the idp (on the idp's machine):")
        print("  " + shlex.join(command))
        return 0
    done = subprocess.run([sys.executable, "-m", "anchorid.cli", *command[1:]], capture_output=True, text=True)
    if done.returncode != 0 and "already registered" not in done.stderr:
        print(f"anchorid: registration at the idp failed:\n{done.stderr.strip()}", file=sys.stderr)
        return 2
    print(done.stdout.strip() or "already registered")
    return 0


def _prepare(data: str) -> None:
    from anchorid.common.serve import prepare_party

    prepare_party("library", Path(data))


def _seed(args: argparse.Namespace) -> int:
    _prepare(args.data)

    from anchorid.library import conf
    from anchorid.library.samples import seed

    titles = seed(conf.books_dir())
    print(f"{len(titles)} sample titles in the catalogue")
    return 0


def _grant(args: argparse.Namespace) -> int:
    _prepare(args.data)
    from anchorid.library.circulation import issue_grant

    try:
        print(issue_grant(args.category))
    except ValueError as error:
        print(f"anchorid: {error}", file=sys.stderr)
        return 2
    return 0


def _card_code(args: argparse.Namespace) -> int:
    _prepare(args.data)
    from anchorid.library.circulation import issue_card_link

    try:
        print(issue_card_link(args.card))
    except ValueError as error:
        print(f"anchorid: {error}", file=sys.stderr)
        return 2
    return 0


def _staff_add(args: argparse.Namespace) -> int:
    _prepare(args.data)
    from django.contrib.auth.models import User

    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 12:
        print("anchorid: a staff password has at least 12 characters (on standard input)", file=sys.stderr)
        return 2
    user, _ = User.objects.get_or_create(username=args.username, defaults={"is_staff": True})
    user.is_staff = True
    user.set_password(password)
    user.save()
    print(f"staff login {user.username} ready")
    return 0


def add_library_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    library = commands.add_parser("library", help="the e-library (a relying party of AnchorID)")
    verbs = library.add_subparsers(dest="library_command", required=True, metavar="VERB")
    setup = verbs.add_parser("setup", help="create the library's keys and configuration; register it at the idp")
    setup.add_argument("--data", required=True, help="the library's data folder")
    setup.add_argument("--idp", required=True, help="the idp's issuer URL, e.g. http://localhost:8001")
    setup.add_argument("--origin", default=DEFAULT_ORIGIN, help="where browsers reach the library")
    setup.add_argument("--idp-data", help="the idp's data folder: register there now (same machine)")
    setup.set_defaults(func=_setup)
    seed = verbs.add_parser("seed", help="put the sample collection (synthetic EPUBs) in the catalogue")
    seed.add_argument("--data", required=True)
    seed.set_defaults(func=_seed)
    grant = verbs.add_parser("grant", help="a one-time registration code for a category the city allows")
    grant.add_argument("--data", required=True)
    grant.add_argument("--category", default="commuter")
    grant.set_defaults(func=_grant)
    card = verbs.add_parser("card-code", help="a one-time code that links a physical library card")
    card.add_argument("--data", required=True)
    card.add_argument("--card", required=True, help="the physical card's number")
    card.set_defaults(func=_card_code)
    staff = verbs.add_parser("staff-add", help="create or update a staff login (password on standard input)")
    staff.add_argument("--data", required=True)
    staff.add_argument("--username", required=True)
    staff.set_defaults(func=_staff_add)
