"""``anchorid idp tsa …``: the time-stamp authority's key and certificate.

- ``anchorid idp tsa init --data DIR [--rotate]``: a new TSA key in the KeyStore, certified by the platform root
  (offline-style: loads the root key, like ``ca init``). ``--rotate`` replaces the current one; tokens signed
  with the old key stay verifiable with the old certificate (it stays on record and valid).
- ``anchorid idp tsa show --data DIR``: the TSA certificate (PEM).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cryptography.hazmat.primitives import serialization

EXIT_OK = 0
EXIT_ERROR = 2


def _fail(message: str) -> int:
    print(f"anchorid: {message}", file=sys.stderr)
    return EXIT_ERROR


def _init(args: argparse.Namespace) -> int:
    from anchorid.idp.cli import _use_data_dir

    _use_data_dir(args.data, migrate=True)
    from anchorid.idp.deviceca.authority import CaError
    from anchorid.idp.deviceca.keys import ca_keystore
    from anchorid.idp.deviceca.profile import certificate_fingerprint
    from anchorid.idp.keystore import KeyStoreError
    from anchorid.idp.tsa.authority import TsaError, init_tsa

    try:
        certificate = init_tsa(ca_keystore(), rotate=args.rotate)
    except (TsaError, CaError, KeyStoreError) as error:
        return _fail(str(error))
    print(f"tsa: {certificate.subject.rfc4514_string()} sha256 {certificate_fingerprint(certificate)}")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from anchorid.idp.cli import _use_data_dir

    _use_data_dir(args.data, migrate=False)
    from cryptography import x509

    from anchorid.idp.tsa.models import TsaCertificate

    row = TsaCertificate.objects.filter(current=True).first()
    if row is None:
        return _fail("the time-stamp authority is not initialised: run `anchorid idp tsa init --data DIR`")
    sys.stdout.write(x509.load_der_x509_certificate(bytes(row.der)).public_bytes(serialization.Encoding.PEM).decode())
    return EXIT_OK


def add_tsa_commands(idp_commands: Any) -> None:
    """Register ``anchorid idp tsa`` on the ``anchorid idp`` subparsers."""
    tsa = idp_commands.add_parser("tsa", help="the RFC 3161 time-stamp authority")
    verbs = tsa.add_subparsers(dest="tsa_command", required=True, metavar="COMMAND")
    init = verbs.add_parser("init", help="create the TSA key and its certificate (issued by the platform root)")
    init.add_argument("--data", required=True, help="the idp's data folder")
    init.add_argument("--rotate", action="store_true", help="replace the current TSA key and certificate")
    init.set_defaults(func=_init)
    show = verbs.add_parser("show", help="print the TSA certificate (PEM)")
    show.add_argument("--data", required=True, help="the idp's data folder")
    show.set_defaults(func=_show)
