"""The ``anchorid`` command line. Each party adds its own subcommands; names stay stable across issues."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from anchorid.common.serve import PARTIES


def _serve(args: argparse.Namespace) -> int:
    from anchorid.common.serve import serve

    serve(args.party, args.port, Path(args.data), host=args.host, workers=args.workers, worker=not args.no_worker)
    return 0


def _check(args: argparse.Namespace) -> int:
    from anchorid.common.check_command import run_check

    return run_check(args.party, Path(args.data) if args.data else None, deploy=args.deploy, workers=args.workers)


def _settings_doc(args: argparse.Namespace) -> int:
    from anchorid.common.settings_doc import render

    sys.stdout.write(render())
    return 0


def _worker(args: argparse.Namespace) -> int:
    from anchorid.common.serve import run_worker

    return run_worker(args.party, Path(args.data))


def _demo(args: argparse.Namespace) -> int:
    from anchorid.demo import run_demo

    return run_demo(Path(args.data), base_port=args.port, residents=args.residents, once=args.once)


def build_parser() -> argparse.ArgumentParser:
    from anchorid.cardhelper.cli import add_card_helper_command
    from anchorid.city.cli import add_city_commands
    from anchorid.idp.cli import add_idp_commands
    from anchorid.jlis.cli import add_jlis_commands
    from anchorid.jpki.cli import add_card_commands
    from anchorid.wallet.cli import add_wallet_commands

    parser = argparse.ArgumentParser(prog="anchorid", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="start every party, seeded, and print what to try")
    demo.add_argument("--data", default=".anchorid-demo", help="folder for the demo's databases and cards")
    demo.add_argument("--port", type=int, default=8000, help="first port (jlis); the next parties follow")
    demo.add_argument("--residents", type=int, default=20)
    demo.add_argument("--once", action="store_true", help="seed, check every party answers, then stop")
    demo.set_defaults(func=_demo)

    serve = commands.add_parser("serve", help="serve one party (creates and migrates its database)")
    serve.add_argument("party", choices=PARTIES)
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--data", required=True, help="the party's data folder")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--workers", type=int, help="Granian worker processes (default ANCHORID_WORKERS, else 1)")
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="no background jobs here (run `anchorid worker PARTY` separately; or ANCHORID_WORKER=0)",
    )
    serve.set_defaults(func=_serve)

    check = commands.add_parser("check", help="check a party's settings; --deploy: refuse an unsafe production one")
    check.add_argument("party", choices=PARTIES)
    check.add_argument("--data", help="the party's data folder (default ANCHORID_DATA_DIR)")
    check.add_argument("--deploy", action="store_true", help="also the production checks (docs/settings.md)")
    check.add_argument("--workers", type=int, help="the workers it will be served with (default ANCHORID_WORKERS)")
    check.set_defaults(func=_check)

    settings_doc = commands.add_parser("settings-doc", help="print the settings reference (docs/settings.md)")
    settings_doc.set_defaults(func=_settings_doc)

    worker = commands.add_parser("worker", help="run one party's background jobs (supervised by systemd or alike)")
    worker.add_argument("party", choices=PARTIES)
    worker.add_argument("--data", required=True, help="the party's data folder (the one `anchorid serve` uses)")
    worker.set_defaults(func=_worker)

    add_jlis_commands(commands)
    add_card_commands(commands)
    add_card_helper_command(commands)
    add_idp_commands(commands)
    add_wallet_commands(commands)
    from anchorid.signing.cli import add_sign_commands

    add_sign_commands(commands)
    add_city_commands(commands)
    from anchorid.providersim.cli import add_provider_commands

    add_provider_commands(commands)
    from anchorid.participation.cli import add_participation_commands

    add_participation_commands(commands)
    from anchorid.currency.cli import add_currency_commands

    add_currency_commands(commands)
    from anchorid.library.cli import add_library_commands

    add_library_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    from anchorid.common.datafiles import restrict_new_files

    restrict_new_files()  # data folders, databases, keys, cards and logs: the owner's only (datafiles.py)
    from anchorid.common.config import ConfigError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except ConfigError as exc:  # a setting that does not parse: its name and what it should be, no traceback
        print(f"anchorid {args.command}: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
