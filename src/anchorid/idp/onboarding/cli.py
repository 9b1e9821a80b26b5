"""``anchorid idp jlis-setup`` and ``anchorid idp rotate-attribute-key``: onboarding's setup and upkeep.

- ``anchorid idp jlis-setup --data DIR [--jlis URL] [--jwk-out FILE]``: fetch the simulated J-LIS roots into
  ``DIR/jlis-ca/`` (the trust anchors), create the idp's operator key in the KeyStore (needs
  ``ANCHORID_KEYSTORE_PASSPHRASE``) and write its public JWK, to register with
  ``anchorid jlis operator add --data JLIS_DIR --name anchorid-idp --jwk FILE``.
- ``anchorid idp rotate-attribute-key --data DIR [--rotate-only]``: add a key, re-encrypt every account's
  attributes with it, report counts (``--rotate-only`` when the new key was already prepended to
  ``ANCHORID_ATTRIBUTE_KEYS``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_BAD = 1
EXIT_ERROR = 2


def _prepare(data: str) -> None:
    from anchorid.common.serve import prepare_party

    prepare_party("idp", Path(data))


def _jlis_setup(args: argparse.Namespace) -> int:
    if args.jlis:
        os.environ["ANCHORID_JLIS_URL"] = args.jlis
    _prepare(args.data)
    from anchorid.idp import jlis_client
    from anchorid.idp.keystore import KeyStoreError

    try:
        written = jlis_client.fetch_ca_certificates()
        jwk = jlis_client.ensure_operator_key()
    except (jlis_client.JlisUnavailable, KeyStoreError) as error:
        print(f"anchorid: {error}", file=sys.stderr)
        return EXIT_ERROR
    out = Path(args.jwk_out) if args.jwk_out else Path(args.data) / "jlis-operator.jwk.json"
    out.write_text(json.dumps(jwk, indent=1))
    print(
        json.dumps(
            {
                "jlis": jlis_client.base_url(),
                "trust_anchors": [str(path) for path in written.values()],
                "operator_jwk": str(out),
                "register_with": f"anchorid jlis operator add --data JLIS_DIR --name anchorid-idp --jwk {out}",
            },
            indent=1,
        )
    )
    return EXIT_OK


def _rotate(args: argparse.Namespace) -> int:
    _prepare(args.data)
    from anchorid.idp.onboarding.records import rotate_attribute_key

    try:
        report = rotate_attribute_key(add_key=not args.rotate_only)
    except RuntimeError as error:
        print(f"anchorid: {error} (then run with --rotate-only)", file=sys.stderr)
        return EXIT_ERROR
    print(
        f"re-encrypted {report.rotated} accounts under the newest of {report.keys} keys; "
        f"{report.without_attributes} without attributes; {report.undecryptable} undecryptable"
    )
    return EXIT_BAD if report.undecryptable else EXIT_OK


def add_onboarding_commands(idp_commands: Any) -> None:
    setup = idp_commands.add_parser("jlis-setup", help="trust jlis's CAs and create the operator key")
    setup.add_argument("--data", required=True, help="the idp's data folder")
    setup.add_argument("--jlis", help="jlis base URL (default: ANCHORID_JLIS_URL or http://127.0.0.1:8000)")
    setup.add_argument("--jwk-out", help="where to write the operator's public JWK")
    setup.set_defaults(func=_jlis_setup)

    rotate = idp_commands.add_parser("rotate-attribute-key", help="add a key and re-encrypt every account's attributes")
    rotate.add_argument("--data", required=True, help="the idp's data folder")
    rotate.add_argument("--rotate-only", action="store_true", help="do not add a key (it is already configured)")
    rotate.set_defaults(func=_rotate)
