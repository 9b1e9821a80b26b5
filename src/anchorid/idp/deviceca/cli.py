"""``anchorid idp ca …``: create the platform CA and re-sign the offline root's CRL.

- ``anchorid idp ca init --data DIR --url URL``: root, issuing CA and OCSP responder (keys in the KeyStore);
  ``URL`` is the idp as relying parties reach it, written into AIA and CRL distribution points;
- ``anchorid idp ca root-crl --data DIR``: the root signs a fresh CRL (after revoking the issuing CA; it reaches a
  day before the end of what it speaks for, see ``authority.root_crl_next_update``);
- ``anchorid idp ca show --data DIR``: the CA certificates (PEM) and their fingerprints;
- ``anchorid idp ca revoke --data DIR --serial HEX [--reason keyCompromise]``: staff revocation of one device
  certificate (residents revoke their own in self-service).

Key operations read ``ANCHORID_KEYSTORE_PASSPHRASE`` from the environment.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

EXIT_OK = 0
EXIT_ERROR = 2


def _fail(message: str) -> int:
    print(f"anchorid: {message}", file=sys.stderr)
    return EXIT_ERROR


def _init(args: argparse.Namespace) -> int:
    from anchorid.idp.cli import _use_data_dir

    _use_data_dir(args.data, migrate=True)
    from anchorid.idp import conf
    from anchorid.idp.deviceca.authority import CaError, init_ca
    from anchorid.idp.deviceca.keys import ca_keystore
    from anchorid.idp.deviceca.profile import certificate_fingerprint
    from anchorid.idp.keystore import KeyStoreError

    try:
        result = init_ca(ca_keystore(), args.url or conf.idp_origin())
    except (CaError, KeyStoreError) as error:
        return _fail(str(error))
    for label, certificate in (("root", result.root), ("issuing", result.issuing), ("ocsp", result.responder)):
        print(f"{label}: {certificate.subject.rfc4514_string()} sha256 {certificate_fingerprint(certificate)}")
    return EXIT_OK


def _root_crl(args: argparse.Namespace) -> int:
    from anchorid.idp.cli import _use_data_dir

    _use_data_dir(args.data, migrate=False)
    from anchorid.idp.deviceca.authority import CaError, resign_root_crl
    from anchorid.idp.deviceca.keys import ca_keystore
    from anchorid.idp.keystore import KeyStoreError

    try:
        next_update = resign_root_crl(ca_keystore())
    except (CaError, KeyStoreError) as error:
        return _fail(str(error))
    print(f"root CRL signed; next update {next_update.isoformat()}")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from anchorid.idp.cli import _use_data_dir

    _use_data_dir(args.data, migrate=False)
    from anchorid.idp.deviceca.authority import CaError, platform_certificate
    from anchorid.idp.deviceca.models import PlatformCertificate

    try:
        rows = [platform_certificate(role) for role in PlatformCertificate.Role]
    except CaError as error:
        return _fail(str(error))
    for row in rows:
        certificate = x509.load_der_x509_certificate(bytes(row.der))
        print(f"# {row.role}: {certificate.subject.rfc4514_string()}, valid until {row.not_after.isoformat()}")
        sys.stdout.write(certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"))
    return EXIT_OK


def _revoke(args: argparse.Namespace) -> int:
    from anchorid.idp.cli import _use_data_dir

    _use_data_dir(args.data, migrate=False)
    from anchorid.idp.deviceca.authority import CaError
    from anchorid.idp.deviceca.models import DeviceCertificate
    from anchorid.idp.deviceca.revocation import RevocationRefused, revoke_device_certificate
    from anchorid.idp.keystore import KeyStoreError

    try:
        serial = f"{int(args.serial, 16):040x}"
        reason = x509.ReasonFlags(args.reason)
    except ValueError:
        return _fail("--serial is the certificate serial in hex; --reason an RFC 5280 reason (keyCompromise, ...)")
    certificate = DeviceCertificate.objects.filter(serial=serial).first()
    if certificate is None:
        return _fail(f"no device certificate with serial {serial}")
    try:
        revoked = revoke_device_certificate(certificate, reason, actor="staff:cli")
    except (RevocationRefused, CaError, KeyStoreError) as error:
        return _fail(str(error))
    print(f"device certificate {revoked.credential_id} is {revoked.status} ({revoked.revocation_reason})")
    return EXIT_OK


def add_ca_commands(idp_commands: Any) -> None:
    """Register ``anchorid idp ca`` on the ``anchorid idp`` subparsers."""
    ca = idp_commands.add_parser("ca", help="the platform CA for device certificates")
    verbs = ca.add_subparsers(dest="ca_command", required=True, metavar="COMMAND")

    init = verbs.add_parser("init", help="create the root CA, the issuing CA and the OCSP responder")
    init.add_argument("--data", required=True, help="the idp's data folder")
    init.add_argument("--url", help="the idp's public URL for AIA and CRLDP (default: ANCHORID_IDP_ORIGIN)")
    init.set_defaults(func=_init)

    root_crl = verbs.add_parser("root-crl", help="sign a fresh CRL with the offline root key")
    root_crl.add_argument("--data", required=True, help="the idp's data folder")
    root_crl.set_defaults(func=_root_crl)

    show = verbs.add_parser("show", help="print the CA certificates (PEM)")
    show.add_argument("--data", required=True, help="the idp's data folder")
    show.set_defaults(func=_show)

    revoke = verbs.add_parser("revoke", help="revoke one device certificate (staff)")
    revoke.add_argument("--data", required=True, help="the idp's data folder")
    revoke.add_argument("--serial", required=True, help="the certificate's serial number, hex")
    revoke.add_argument("--reason", default=x509.ReasonFlags.cessation_of_operation.value)
    revoke.set_defaults(func=_revoke)
