"""``anchorid city demo-seed``: what ``anchorid demo`` puts in the city's database, in one process.

    anchorid city demo-seed --data CITY_DATA [--origin URL]

Migrates the city's database, then seeds (each part idempotent, so every demo start may run it):

- facilities with slots for the next weeks and city notices (``anchorid.city.booking.demo``);
- a lottery round already drawn (once: so ``anchorid city lottery verify N`` has a published draw to re-run; its
  line names ``N``), a lottery round open for entries and the staff account ``staff`` with a fresh password
  (``anchorid.city.lottery.demo``);
- a resident registered at the counter with a booking paid in cash (``anchorid.city.staff.counter_payment_demo``).

Prints the lines the demo guide shows (URLs, the staff login).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def seed(data: Path, origin: str) -> list[str]:
    from anchorid.common.serve import prepare_party

    prepare_party("city", data)
    from anchorid.city.booking.demo import seed_facilities
    from anchorid.city.lottery.demo import seed_lottery_demo
    from anchorid.city.staff.counter_payment_demo import seed_counter_payment_demo

    return [*seed_facilities(), *seed_lottery_demo(origin), *seed_counter_payment_demo(origin)]


def _run(args: argparse.Namespace) -> int:
    for line in seed(Path(args.data), args.origin):
        print(line)
    return 0


def add_demo_seed_command(verbs: argparse._SubParsersAction[argparse.ArgumentParser], default_origin: str) -> None:
    parser = verbs.add_parser("demo-seed", help="demo: facilities, lottery rounds, staff, a counter booking")
    parser.add_argument("--data", required=True, help="the city's data folder")
    parser.add_argument("--origin", default=default_origin, help="where browsers reach the city")
    parser.set_defaults(func=_run)
