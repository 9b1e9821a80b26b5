"""``anchorid idp links``: the operator registers what services may link, for residents to consent to.

``links scope add --data DIR --client ID --scope NAME --label-ja TEXT --label-en TEXT``: a link scope the target
serves, with what residents read (ja/en); again with the same client and scope: new labels. ``links scope list``.
``links offer add --data DIR --id ID --source CLIENT --target CLIENT --scope NAME [--scope …] --purpose-ja TEXT
--purpose-en TEXT --days N [--details JSON] [--further-exchange]``: an offer (printed as JSON). ``links offer list``
(JSON), ``links offer disable --id ID``. docs/protocols/token-exchange.md §1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_ERROR = 2


def _prepare(data: str) -> None:
    from anchorid.common.serve import prepare_party

    prepare_party("idp", Path(data))


def _fail(message: str) -> int:
    print(f"anchorid: {message}", file=sys.stderr)
    return EXIT_ERROR


def _scope_add(args: argparse.Namespace) -> int:
    _prepare(args.data)
    from anchorid.idp.links.offers import OfferError, set_scope

    try:
        scope = set_scope(args.client, args.scope, args.label_ja, args.label_en)
    except OfferError as e:
        return _fail(str(e))
    print(f"{scope.client_id}\t{scope.name}\t{scope.label_ja}\t{scope.label_en}")
    return EXIT_OK


def _scope_list(args: argparse.Namespace) -> int:
    _prepare(args.data)
    from anchorid.idp.links.models import LinkScope

    for scope in LinkScope.objects.order_by("client_id", "name"):
        print(f"{scope.client_id}\t{scope.name}\t{scope.label_ja}\t{scope.label_en}")
    return EXIT_OK


def _offer_add(args: argparse.Namespace) -> int:
    details: Any = None
    if args.details:
        try:
            details = json.loads(args.details)
        except ValueError:
            return _fail("--details is not JSON")
        if isinstance(details, dict):
            details = [details]  # one object is accepted as a one-element array
    _prepare(args.data)
    from anchorid.idp.links.offers import OfferError, add_offer, describe

    scopes = [name for value in args.scope for name in value.split()]
    try:
        offer = add_offer(
            offer_id=args.id,
            source=args.source,
            target=args.target,
            scopes=scopes,
            purpose_ja=args.purpose_ja,
            purpose_en=args.purpose_en,
            days=args.days,
            authorization_details=details,
            further_exchange=args.further_exchange,
        )
    except OfferError as e:
        return _fail(str(e))
    print(json.dumps(describe(offer), ensure_ascii=False, indent=1))
    return EXIT_OK


def _offer_list(args: argparse.Namespace) -> int:
    _prepare(args.data)
    from anchorid.idp.links.models import LinkOffer
    from anchorid.idp.links.offers import describe

    print(json.dumps([describe(o) for o in LinkOffer.objects.order_by("id")], ensure_ascii=False, indent=1))
    return EXIT_OK


def _offer_disable(args: argparse.Namespace) -> int:
    _prepare(args.data)
    from anchorid.idp.links.offers import disable_offer

    if not disable_offer(args.id):
        return _fail(f"no offer {args.id!r}")
    print(f"disabled {args.id}")
    return EXIT_OK


def add_links_commands(idp_commands: Any) -> None:
    links = idp_commands.add_parser("links", help="links between services that residents consent to (token exchange)")
    commands = links.add_subparsers(dest="links_command", required=True, metavar="COMMAND")

    scope = commands.add_parser("scope", help="the link scopes a target service serves, with residents' labels")
    scope_commands = scope.add_subparsers(dest="scope_command", required=True, metavar="COMMAND")
    scope_add = scope_commands.add_parser("add", help="register (or relabel) a link scope")
    scope_add.add_argument("--data", required=True, help="the idp's data folder")
    scope_add.add_argument("--client", required=True, help="the target service's client_id")
    scope_add.add_argument("--scope", required=True, help="e.g. currency:credit")
    scope_add.add_argument("--label-ja", required=True, help="what residents read (Japanese)")
    scope_add.add_argument("--label-en", required=True, help="what residents read (English)")
    scope_add.set_defaults(func=_scope_add)
    scope_list = scope_commands.add_parser("list", help="registered link scopes")
    scope_list.add_argument("--data", required=True)
    scope_list.set_defaults(func=_scope_list)

    offer = commands.add_parser("offer", help="links a source service may ask residents for")
    offer_commands = offer.add_subparsers(dest="offer_command", required=True, metavar="COMMAND")
    add = offer_commands.add_parser("add", help="register an offer source → target")
    add.add_argument("--data", required=True, help="the idp's data folder")
    add.add_argument("--id", required=True, help="e.g. health-to-currency")
    add.add_argument("--source", required=True, help="the client that asks (holds the resident's token)")
    add.add_argument("--target", required=True, help="the client it acts toward")
    add.add_argument("--scope", action="append", required=True, help="a link scope of the target (repeatable)")
    add.add_argument("--purpose-ja", required=True)
    add.add_argument("--purpose-en", required=True)
    add.add_argument("--days", type=int, required=True, help="how long a consent lasts")
    add.add_argument(
        "--details", help='RFC 9396 authorization_details, e.g. \'[{"type":"…","max_yen_per_month":500}]\''
    )
    add.add_argument("--further-exchange", action="store_true", help="the target may exchange the token onward")
    add.set_defaults(func=_offer_add)
    listing = offer_commands.add_parser("list", help="registered offers (JSON)")
    listing.add_argument("--data", required=True)
    listing.set_defaults(func=_offer_list)
    disable = offer_commands.add_parser("disable", help="stop an offer (its consents no longer allow exchanges)")
    disable.add_argument("--data", required=True)
    disable.add_argument("--id", required=True)
    disable.set_defaults(func=_offer_disable)
