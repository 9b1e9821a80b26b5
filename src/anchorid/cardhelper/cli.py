"""``anchorid card-helper``: the resident's local card helper (docs/protocols/card-helper.md).

- ``anchorid card-helper [--card FILE | --reader NAME] [--port 31519] [--idp-origin URL] [--pin-stdin]``: serve
  the onboarding page of ``--idp-origin`` on http://127.0.0.1:PORT until interrupted;
- ``anchorid card-helper --code CODE --idp URL [--card FILE | --reader NAME] [--pin-stdin]`` (or ``--code`` with
  the URL from the page's QR code): complete the onboarding shown on another device's browser, then exit.

Exit codes: 0 done (or interrupted), 1 refused (the message says why), 2 usage or card error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from anchorid.cardhelper.helper import (
    DEFAULT_IDP_ORIGIN,
    DEFAULT_PORT,
    CardHelperServer,
    CardOpener,
    complete_with_code,
    stdin_pin_source,
    terminal_pin_source,
)
from anchorid.common import config


def _default_idp_origin() -> str:
    """``ANCHORID_IDP_ORIGIN`` when set, else the helper's own default."""
    return config.IDP_ORIGIN.value() if config.IDP_ORIGIN.is_set() else DEFAULT_IDP_ORIGIN


def card_opener(args: argparse.Namespace) -> CardOpener:
    from anchorid.jpki.client import JPKICard
    from anchorid.jpki.transport import EmulatorTransport, PcscTransport

    if args.card:
        return lambda: JPKICard(EmulatorTransport(args.card))
    return lambda: JPKICard(PcscTransport(args.reader))


def _run(args: argparse.Namespace) -> int:
    pin_source = stdin_pin_source if args.pin_stdin else terminal_pin_source
    open_card = card_opener(args)
    try:
        if args.code:
            result = complete_with_code(args.code, args.idp, open_card, pin_source)
            print(("card-helper: " if result.ok else "card-helper: refused: ") + result.message, file=sys.stderr)
            if result.ok:
                print(result.outcome)
            return 0 if result.ok else 1
        server = CardHelperServer(
            port=args.port,
            idp_origin=args.idp_origin or _default_idp_origin(),
            open_card=open_card,
            pin_source=pin_source,
        )
    except (ValueError, OSError) as error:
        print(f"card-helper: {error}", file=sys.stderr)
        return 2
    print(
        f"card-helper: serving {server.idp_origin} on http://127.0.0.1:{server.server_port} (Ctrl-C to stop)",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def add_card_helper_command(commands: Any) -> None:
    helper = commands.add_parser("card-helper", help="the local card helper the onboarding page talks to")
    source = helper.add_mutually_exclusive_group()
    source.add_argument("--card", help="a virtual card file (default: the first PC/SC reader holding a card)")
    source.add_argument("--reader", help="a PC/SC reader name (or part of one)")
    helper.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"localhost port (default {DEFAULT_PORT})")
    helper.add_argument(
        "--idp-origin",
        help=f"the only site allowed to call the helper (CORS; default ANCHORID_IDP_ORIGIN or {DEFAULT_IDP_ORIGIN})",
    )
    helper.add_argument("--pin-stdin", action="store_true", help="read the signature password from stdin")
    helper.add_argument("--code", help="cross-device: the code (or QR URL) shown on the other browser's page")
    helper.add_argument("--idp", help="cross-device: the idp's URL (not needed with the QR URL)")
    helper.set_defaults(func=_run)
