"""``anchorid city setup``: the city's keys, its relying-party configuration, and its registration at the idp.

    anchorid city setup --data DIR --idp URL [--origin URL] [--client-id ID] [--idp-data IDP_DIR]
    anchorid city link-service --data DIR --kind library|currency|participation --origin URL
        [--audience CLIENT_ID] [--offer OFFER_ID]

Creates the client and DPoP keys (once), writes ``jwks.json`` and ``anchorid-client.json``, and prints the
``anchorid idp client add ...`` command that registers the city at the idp. With ``--idp-data`` it runs that
command itself against the idp's data folder (same machine, the demo), so one line sets everything up.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from anchorid.city.rp import setup

DEFAULT_ORIGIN = "http://localhost:8002"
CITY_NAME = "鎌倉市 住民サービス"


def _setup(args: argparse.Namespace) -> int:
    data_dir = Path(args.data)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    setup.ensure_keys(data_dir)
    config = setup.write_config(data_dir, issuer=args.idp, origin=args.origin, client_id=args.client_id)
    command = setup.client_add_command(data_dir, config, name=args.name, idp_data=args.idp_data or "IDP_DATA_DIR")
    print(f"city keys and configuration in {data_dir.resolve()}")
    return setup.register_or_print(command, who="the city", idp_data=args.idp_data)


def _link_service(args: argparse.Namespace) -> int:
    from anchorid.city import linked_services

    kind = linked_services.KINDS[args.kind]
    service = linked_services.LinkedService(kind=args.kind, audience=args.audience or args.kind, origin=args.origin,
                                            offer=args.offer or kind.default_offer)  # fmt: skip
    try:
        linked_services.save(Path(args.data), service)
    except ValueError as error:
        print(f"anchorid: {error}", file=sys.stderr)
        return 2
    print(f"the city's home shows the {args.kind} ({service.origin}) to residents who link it (offer {service.offer})")
    return 0


def add_city_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    city = commands.add_parser("city", help="the city's resident services (a relying party of AnchorID)")
    verbs = city.add_subparsers(dest="city_command", required=True, metavar="VERB")
    setup_parser = verbs.add_parser("setup", help="create the city's keys and configuration; register it at the idp")
    setup_parser.add_argument("--data", required=True, help="the city's data folder")
    setup_parser.add_argument("--idp", required=True, help="the idp's issuer URL, e.g. http://localhost:8001")
    setup_parser.add_argument("--origin", default=DEFAULT_ORIGIN, help="where browsers reach the city")
    setup_parser.add_argument("--client-id", default=setup.DEFAULT_CLIENT_ID)
    setup_parser.add_argument("--name", default=CITY_NAME, help="shown to residents on the consent screen")
    setup_parser.add_argument("--idp-data", help="the idp's data folder: register there now (same machine)")
    setup_parser.set_defaults(func=_setup)
    link = verbs.add_parser(
        "link-service", help="show a service's status on the resident home once a resident links it"
    )
    link.add_argument("--data", required=True, help="the city's data folder")
    link.add_argument("--kind", required=True, choices=["library", "currency", "participation"])
    link.add_argument("--origin", required=True, help="where the service's API is, e.g. http://localhost:8006")
    link.add_argument("--audience", help="its client_id at the idp (default: the kind)")
    link.add_argument("--offer", help="the idp's link offer city → service (default: city-to-KIND)")
    link.set_defaults(func=_link_service)
    from anchorid.city.lottery.cli import add_lottery_commands
    from anchorid.city.staff.cli import add_staff_commands

    add_lottery_commands(verbs)
    add_staff_commands(verbs)
    from anchorid.city.departments.cli import add_department_commands

    add_department_commands(verbs)
    from anchorid.city.adoption.cli import add_adoption_commands

    add_adoption_commands(verbs)
    from anchorid.city.demo_seed import add_demo_seed_command

    add_demo_seed_command(verbs, DEFAULT_ORIGIN)
