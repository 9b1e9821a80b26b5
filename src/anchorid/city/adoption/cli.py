"""``anchorid city adoption load-table|fetch``: the city's card-issuance table and the idp's adoption counts.

anchorid city adoption load-table --data DIR FILE   # a CSV in the national table's shape (shared/data)
anchorid city adoption fetch --data DIR             # read the k-anonymous counts from the idp
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def load_table(text: str, as_of: str = "") -> int:
    """Replace the city's table (Django set up for the city); :class:`TableError` on a malformed table."""
    from django.db import transaction

    from anchorid.city.adoption.models import CityIssuance
    from anchorid.city.adoption.tables import parse_table

    bands = parse_table(text)
    with transaction.atomic():
        CityIssuance.objects.all().delete()
        CityIssuance.objects.bulk_create(
            CityIssuance(age_band=b.age_band, population_male=b.population_male, population_female=b.population_female,
                         issued_male=b.issued_male, issued_female=b.issued_female, as_of=as_of)
            for b in bands
        )  # fmt: skip
    return len(bands)


def _load(args: argparse.Namespace) -> int:
    from anchorid.common.serve import prepare_party

    prepare_party("city", Path(args.data))
    from anchorid.city.adoption.tables import TableError

    try:
        count = load_table(Path(args.file).read_text(encoding="utf-8"), args.as_of)
    except (OSError, UnicodeDecodeError, TableError) as error:
        print(f"anchorid city adoption load-table: {error}", file=sys.stderr)
        return 2
    print(json.dumps({"bands": count}))
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from anchorid.common.serve import prepare_party

    prepare_party("city", Path(args.data))
    from anchorid.city.adoption import adoption
    from anchorid.city.login import client

    try:
        cells = adoption.store(adoption.fetch(client()))
    except adoption.FetchError as error:
        print(f"anchorid city adoption fetch: {error}", file=sys.stderr)
        return 2
    print(json.dumps({"cells": cells}))
    return 0


def add_adoption_commands(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    adoption = verbs.add_parser("adoption", help="the staff adoption dashboard's data")
    actions = adoption.add_subparsers(dest="adoption_command", required=True, metavar="ACTION")
    load = actions.add_parser("load-table", help="load the city's card-issuance table (CSV, national shape)")
    load.add_argument("--data", required=True, help="the city's data folder")
    load.add_argument("--as-of", default="", help="the date the table is as of")
    load.add_argument("file")
    load.set_defaults(func=_load)
    fetch = actions.add_parser("fetch", help="read the k-anonymous adoption counts from the idp")
    fetch.add_argument("--data", required=True, help="the city's data folder")
    fetch.set_defaults(func=_fetch)
