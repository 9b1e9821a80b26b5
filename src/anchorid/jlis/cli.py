"""``anchorid jlis ...``: seed residents and cards. (Filled in by the jlis work.)"""

from __future__ import annotations

from typing import Any


def add_jlis_commands(commands: Any) -> None:
    jlis = commands.add_parser("jlis", help="the simulated J-LIS: seed residents, life events")
    jlis.add_subparsers(dest="jlis_command", required=True)
