"""``anchorid participation ...``: set up the platform's relying party, and re-check a published tally.

    anchorid participation setup --data DIR --idp URL [--origin URL] [--idp-data IDP_DIR]
    anchorid participation tally verify PROCESS [--data DIR] [--key JWKS_FILE_OR_URL]
        PROCESS: a process slug (with --data), a ballots.json file, or the URL of a process's ballots.json
    anchorid participation demo --data DIR        the demo's processes, one in each phase (demo.py)

``tally verify`` needs nothing of the platform's: from the published document it checks the signature, the ballot
list's and result's digests, every ballot against the published rules, and recounts the result (``tally.py``). Exit
code 0 when every check passed, 1 when one failed, 2 when the document could not be read or is incomplete.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import requests

from anchorid.common import untrusted_json
from anchorid.common.rp import setup as common_setup

DEFAULT_ORIGIN = "http://localhost:8004"
NAME = "鎌倉市 みんなの参加"
FETCH_TIMEOUT_SECONDS = 15
DOCUMENT_MAX_BYTES = 512 * 1024 * 1024


def _setup(args: argparse.Namespace) -> int:
    from anchorid.participation.login import CLAIMS

    data_dir = Path(args.data)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    common_setup.ensure_keys(data_dir)
    config = common_setup.write_config(data_dir, issuer=args.idp, origin=args.origin, client_id=args.client_id,
                                       scope="openid", claims=CLAIMS)  # fmt: skip
    command = common_setup.client_add_command(data_dir, config, name=NAME, idp_data=args.idp_data or "IDP_DATA_DIR",
                                              backchannel_logout=False)  # fmt: skip
    print(f"participation keys and configuration in {data_dir.resolve()}")
    return common_setup.register_or_print(command, who="the platform", idp_data=args.idp_data)


def _fetch(source: str) -> Any:
    if source.startswith(("http://", "https://")):
        response = requests.get(source, timeout=FETCH_TIMEOUT_SECONDS)
        response.raise_for_status()
        return untrusted_json.loads(response.content, max_bytes=DOCUMENT_MAX_BYTES)
    return json.loads(Path(source).read_text(encoding="utf-8"))


def _load(process: str, data: str | None) -> dict[str, Any]:
    from anchorid.participation.tally import DocumentError

    if process.startswith(("http://", "https://")) or Path(process).is_file():
        loaded = _fetch(process)
    elif data:
        from anchorid.common.serve import prepare_party

        prepare_party("participation", Path(data))
        from anchorid.participation.models import Process

        found = Process.objects.filter(slug=process).first()
        if found is None:
            raise DocumentError(f"no process {process!r}")
        if not found.published_document:
            raise DocumentError(f"process {process!r} has not published its ballots (they are published at close)")
        loaded = json.loads(json.dumps(found.published_document))  # through JSON, exactly as published
    else:
        raise DocumentError(f"{process} is neither a file nor a URL; a process slug needs --data")
    if not isinstance(loaded, dict):
        raise DocumentError("the ballot document is not a JSON object")
    return loaded


def _verify(args: argparse.Namespace) -> int:
    from anchorid.participation.tally import DocumentError, verify_document

    try:
        document = _load(args.process, args.data)
        trusted = None
        if args.key:
            keys = _fetch(args.key)
            trusted = keys["keys"][0] if isinstance(keys, dict) and "keys" in keys else keys
        report = verify_document(document, trusted_key=trusted)
    except (DocumentError, OSError, ValueError, KeyError, TypeError, requests.RequestException) as error:
        print(f"anchorid participation tally verify: {error}", file=sys.stderr)
        return 2
    print(f"{document.get('process')}: {document.get('title')} ({document.get('format')})")
    for name, passed, detail in report.checks:
        print(f"  {'ok  ' if passed else 'FAIL'} {name}" + (f": {detail}" if detail else ""))
    print("verified: the published result follows from the published ballots" if report.ok else "NOT VERIFIED")
    return 0 if report.ok else 1


def _demo(args: argparse.Namespace) -> int:
    from anchorid.common.serve import prepare_party

    prepare_party("participation", Path(args.data))
    from anchorid.participation.demo import seed

    for line in seed():
        print(line)
    return 0


def add_participation_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    party = commands.add_parser("participation", help="the participation platform (a relying party of AnchorID)")
    verbs = party.add_subparsers(dest="participation_command", required=True, metavar="VERB")
    setup = verbs.add_parser("setup", help="create the platform's keys and configuration; register it at the idp")
    setup.add_argument("--data", required=True, help="the platform's data folder")
    setup.add_argument("--idp", required=True, help="the idp's issuer URL, e.g. http://localhost:8001")
    setup.add_argument("--origin", default=DEFAULT_ORIGIN, help="where browsers reach the platform")
    setup.add_argument("--client-id", default="participation")
    setup.add_argument("--idp-data", help="the idp's data folder: register there now (same machine)")
    setup.set_defaults(func=_setup)
    tally = verbs.add_parser("tally", help="published tallies")
    actions = tally.add_subparsers(dest="tally_command", required=True, metavar="ACTION")
    verify = actions.add_parser("verify", help="recount a published vote from its ballots and check the signature")
    verify.add_argument("process", metavar="PROCESS", help="process slug (with --data), ballots.json file, or its URL")
    verify.add_argument("--data", help="the platform's data folder (for a process slug)")
    verify.add_argument("--key", help="the platform's tally key (tally-keys.json file or URL) to trust")
    verify.set_defaults(func=_verify)
    demo = verbs.add_parser("demo", help="demo: one process in each phase")
    demo.add_argument("--data", required=True, help="the platform's data folder")
    demo.set_defaults(func=_demo)
