"""``anchorid currency ...``: the local currency's keys, registration and operations.

anchorid currency setup --data DIR --idp URL [--origin URL] [--idp-data IDP_DIR]
anchorid currency seed-demo --data DIR            merchants, a campaign budget, an open benefit, a staff login
anchorid currency approve --data DIR --merchant N
anchorid currency run-jobs --data DIR             expiry of payments and lots, notices (what the worker does)
anchorid currency settle --data DIR               today's settlement of every approved merchant
anchorid currency report --data DIR               the prepaid-instrument report
anchorid currency check-ledger --data DIR         the ledger's invariants (sum 0, no wallet below 0, lots)
anchorid currency partner add --data DIR --client-id ID --name NAME [--fund YEN]
                                                  a service that credits members through the API (its prepaid account)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_ORIGIN = "http://localhost:8005"
NAME = "鎌倉コイン (地域通貨)"


def _django(data: str) -> None:
    from anchorid.common.serve import prepare_party

    prepare_party("currency", Path(data))


def _setup(args: argparse.Namespace) -> int:
    from anchorid.city.cli import registration_command
    from anchorid.common.rp import setup as common_setup
    from anchorid.currency import rp

    data_dir = Path(args.data)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    common_setup.ensure_keys(data_dir)
    config = rp.write_config(data_dir, issuer=args.idp, origin=args.origin, client_id=args.client_id)
    command = registration_command(data_dir, config, name=NAME, idp_data=args.idp_data or "IDP_DATA_DIR",
                                   sector_identifier_uri=args.sector_identifier_uri)  # fmt: skip
    print(f"currency keys and configuration in {data_dir.resolve()}")
    return common_setup.register_or_print(command, who="the currency", idp_data=args.idp_data)


def _seed(args: argparse.Namespace) -> int:
    _django(args.data)
    from anchorid.currency.demo import seed

    for line in seed(staff_password=args.staff_password):
        print(line)
    return 0


def _approve(args: argparse.Namespace) -> int:
    _django(args.data)
    from anchorid.currency import service
    from anchorid.currency.models import Merchant

    merchant = Merchant.objects.filter(pk=args.merchant).first()
    if merchant is None:
        print(f"anchorid currency approve: no merchant {args.merchant}", file=sys.stderr)
        return 2
    service.approve_merchant(merchant)
    print(f"approved merchant {merchant.pk}")
    return 0


def _run_jobs(args: argparse.Namespace) -> int:
    _django(args.data)
    from anchorid.currency.jobs import run_expiry

    for name, value in run_expiry().items():
        print(f"{name}: {value}")
    return 0


def _settle(args: argparse.Namespace) -> int:
    _django(args.data)
    from django.utils import timezone

    from anchorid.currency import service
    from anchorid.currency.models import Merchant

    for merchant in Merchant.objects.filter(status=Merchant.APPROVED).order_by("pk"):
        settlement = service.settle(merchant, timezone.localdate())
        if settlement is not None:
            print(f"merchant {merchant.pk}: gross {settlement.gross} fee {settlement.fee} net {settlement.net}")
    return 0


def _report(args: argparse.Namespace) -> int:
    _django(args.data)
    from anchorid.currency import service

    report = service.prepaid_report()
    print(f"base date: {report.base_date}")
    print(f"unused purchased value: {report.purchased_unused} yen")
    print(f"deposit required (half of the amount over 10,000,000 yen): {report.deposit_required} yen")
    print(f"free coins (premiums, benefits), apart: {report.free_unused} yen")
    return 0


def _check(args: argparse.Namespace) -> int:
    _django(args.data)
    from anchorid.currency.ledger.service import check_invariants

    problems = check_invariants()
    for problem in problems:
        print(problem, file=sys.stderr)
    print("ledger sound" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


def _partner_add(args: argparse.Namespace) -> int:
    _django(args.data)
    from anchorid.currency import partners
    from anchorid.currency.service import Refused, new_id

    try:
        partner = partners.register(args.client_id, args.name, coin_days=args.coin_days)
        if args.fund:
            partners.fund(partner, args.fund, new_id("fund"))
    except Refused as refused:
        print(f"anchorid currency partner add: refused: {refused.code}", file=sys.stderr)
        return 2
    print(f"partner {partner.client_id}: prepaid balance {partners.balance(partner)} yen")
    return 0


def add_currency_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from anchorid.currency.rp import DEFAULT_CLIENT_ID

    currency = commands.add_parser("currency", help="the local currency (a relying party of AnchorID)")
    verbs = currency.add_subparsers(dest="currency_command", required=True, metavar="VERB")
    setup = verbs.add_parser("setup", help="create the currency's keys and configuration; register it at the idp")
    setup.add_argument("--data", required=True)
    setup.add_argument("--idp", required=True, help="the idp's issuer URL")
    setup.add_argument("--origin", default=DEFAULT_ORIGIN)
    setup.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    setup.add_argument("--idp-data", help="the idp's data folder: register there now (same machine)")
    setup.add_argument(
        "--sector-identifier-uri",
        default="",
        help="its own pairwise sector when it shares a host with another relying party (the demo: all on localhost)",
    )
    setup.set_defaults(func=_setup)
    seed = verbs.add_parser("seed-demo", help="demo merchants, a campaign budget, an open benefit, a staff login")
    seed.add_argument("--data", required=True)
    seed.add_argument("--staff-password", default="issuer-demo")
    seed.set_defaults(func=_seed)
    approve = verbs.add_parser("approve", help="approve a merchant (as the issuer's staff)")
    approve.add_argument("--data", required=True)
    approve.add_argument("--merchant", type=int, required=True)
    approve.set_defaults(func=_approve)
    for name, func, text in (
        ("run-jobs", _run_jobs, "expire payments and lots, write notices (what the worker does)"),
        ("settle", _settle, "today's settlement of every approved merchant (fee 1.5 %)"),
        ("report", _report, "the prepaid-instrument report"),
        ("check-ledger", _check, "check the ledger's invariants"),
    ):
        verb = verbs.add_parser(name, help=text)
        verb.add_argument("--data", required=True)
        verb.set_defaults(func=func)
    partner = verbs.add_parser("partner", help="services that credit members through the API (their prepaid accounts)")
    partner_verbs = partner.add_subparsers(dest="partner_command", required=True, metavar="VERB")
    add = partner_verbs.add_parser("add", help="register a partner (or update its name), optionally prepaying yen")
    add.add_argument("--data", required=True)
    add.add_argument("--client-id", required=True, help="the partner's client_id at the idp (the tokens' act)")
    add.add_argument("--name", required=True)
    add.add_argument("--coin-days", type=int, default=183, help="how long its coins stay valid")
    add.add_argument("--fund", type=int, default=0, help="yen to prepay into its account now")
    add.set_defaults(func=_partner_add)
