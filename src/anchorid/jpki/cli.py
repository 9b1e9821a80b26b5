"""``anchorid card ...``: info, pin-status, sign. (Filled in by the card-client work.)"""

from __future__ import annotations

import argparse
from typing import Any


def add_card_commands(commands: Any) -> None:
    card = commands.add_parser("card", help="read and use a My Number Card (virtual or in a PC/SC reader)")
    card.add_subparsers(dest="card_command", required=True)


__all__ = ["add_card_commands", "argparse"]
