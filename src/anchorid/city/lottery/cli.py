"""``anchorid city lottery ...``: re-check a published draw, and release rounds past their confirmation deadline.

    anchorid city lottery verify ROUND [--data DIR]    ROUND: a round number (with --data), an audit.json file,
                                                      or the URL of a round's audit.json
    anchorid city lottery release-due --data DIR       the periodic sweep by hand (the city worker's job):
                                                      expire unconfirmed wins, open the second round
    anchorid city lottery demo --data DIR [--origin URL]  the demo's round and staff login (see lottery/demo.py)

``verify`` needs nothing of the city's: given the published document it checks SHA-256(seed) against the
commitment, the entry list against its digest, and re-runs the draw (``anchorid.city.lottery.draw``). Exit code 0
when every check passed, 1 when one failed, 2 when the document could not be read or is incomplete.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import requests

from anchorid.city.lottery.audit import AuditError, verify_document
from anchorid.common import untrusted_json

FETCH_TIMEOUT_SECONDS = 15
AUDIT_DOCUMENT_MAX_BYTES = 256 * 1024 * 1024  # a round with every resident entered; depth and numbers stay bounded


def _load(round_: str, data: str | None) -> dict[str, Any]:
    if round_.startswith(("http://", "https://")):
        response = requests.get(round_, timeout=FETCH_TIMEOUT_SECONDS)
        response.raise_for_status()
        document: dict[str, Any] = untrusted_json.loads(response.content, max_bytes=AUDIT_DOCUMENT_MAX_BYTES)
        return document
    if round_.isdigit():
        if not data:
            raise AuditError("a round number needs --data (the city's data folder); or pass the audit.json")
        from anchorid.common.serve import prepare_party

        prepare_party("city", Path(data))
        from anchorid.city.lottery.models import LotteryRound
        from anchorid.city.lottery.service import audit_document

        found = LotteryRound.objects.filter(pk=int(round_)).first()
        if found is None:
            raise AuditError(f"no round {round_}")
        # Through JSON, exactly as the round page publishes it.
        loaded: dict[str, Any] = json.loads(json.dumps(audit_document(found)))
        return loaded
    path = Path(round_)
    if not path.is_file():
        raise AuditError(f"{round_} is neither a round number, a file nor a URL")
    loaded = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise AuditError("the audit document is not a JSON object")
    return loaded


def _verify(args: argparse.Namespace) -> int:
    try:
        document = _load(args.round, args.data)
        report = verify_document(document)
    except (AuditError, OSError, ValueError, requests.RequestException) as error:
        print(f"anchorid city lottery verify: {error}", file=sys.stderr)
        return 2
    print(f"{document.get('round')} ({document.get('algorithm')})")
    for name, passed, detail in report.checks:
        print(f"  {'ok  ' if passed else 'FAIL'} {name}" + (f": {detail}" if detail else ""))
    print("verified: the published result follows from the committed seed" if report.ok else "NOT VERIFIED")
    return 0 if report.ok else 1


def _release_due(args: argparse.Namespace) -> int:
    from anchorid.common.serve import prepare_party

    prepare_party("city", Path(args.data))
    from anchorid.city.lottery.service import release_due

    print(json.dumps({"slots_opened": release_due()}))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from anchorid.common.serve import prepare_party

    prepare_party("city", Path(args.data))
    from anchorid.city.lottery.demo import seed_lottery_demo

    for line in seed_lottery_demo(args.origin):
        print(line)
    return 0


def add_lottery_commands(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lottery = verbs.add_parser("lottery", help="facility lotteries: verify a draw, release expired wins")
    actions = lottery.add_subparsers(dest="lottery_command", required=True, metavar="ACTION")
    verify = actions.add_parser("verify", help="re-run a published draw and check its seed commitment")
    verify.add_argument("round", metavar="ROUND", help="round number (with --data), audit.json file, or its URL")
    verify.add_argument("--data", help="the city's data folder (for a round number)")
    verify.set_defaults(func=_verify)
    release = actions.add_parser("release-due", help="expire unconfirmed wins past their deadline; open round two")
    release.add_argument("--data", required=True, help="the city's data folder")
    release.set_defaults(func=_release_due)
    demo = actions.add_parser("demo", help="demo: an open lottery round and the staff login (facilities seeded first)")
    demo.add_argument("--data", required=True, help="the city's data folder")
    demo.add_argument("--origin", default="http://localhost:8002", help="where browsers reach the city")
    demo.set_defaults(func=_demo)
