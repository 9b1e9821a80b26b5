"""``anchorid audit ...`` and ``anchorid idp ...``: the audit log and the platform's keys, from the shell.

- ``anchorid audit verify --data DIR [--public-key PEM]``: exit 0 when the log is intact, 1 naming the first bad entry.
- ``anchorid audit checkpoint --data DIR``: verify, then sign a checkpoint over the whole log.
- ``anchorid audit prove --data DIR --seq N``: print an inclusion proof (JSON) for entry N.
- ``anchorid audit check-proof FILE [--public-key PEM]``: check an inclusion proof; needs no database.
- ``anchorid idp create-key NAME --data DIR`` / ``list-keys`` / ``public-key NAME``: the KeyStore.
- ``anchorid idp keys migrate --to pkcs11 --data DIR [--remove-files]``: move the key files into an HSM token.

Key operations read ``ANCHORID_KEYSTORE_PASSPHRASE`` (or, with ``ANCHORID_KEYSTORE=pkcs11``, ``ANCHORID_PKCS11_*``)
from the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from anchorid.idp.keystore import KEY_ALGORITHMS, KeyNotFound, KeyStoreError, PublicKey

EXIT_OK = 0
EXIT_BAD = 1
EXIT_ERROR = 2


def _use_data_dir(data: str, *, migrate: bool) -> None:
    """Point Django at the idp settings and ``data``; migrate only for commands that write."""
    if migrate:
        from anchorid.common.serve import prepare_party

        prepare_party("idp", Path(data))
        return
    os.environ["ANCHORID_DATA_DIR"] = str(Path(data).resolve())
    os.environ["DJANGO_SETTINGS_MODULE"] = "anchorid.idp.settings"
    import django

    django.setup()


def _load_public_key(path: str) -> PublicKey:
    loaded = serialization.load_pem_public_key(Path(path).read_bytes())
    if not isinstance(loaded, PublicKey):
        raise SystemExit(f"{path}: not an EC or RSA public key")
    return loaded


NO_DATABASE = "no idp audit tables in this database: run `anchorid serve idp --data DIR` (which migrates) first"


def _fail(message: str) -> int:
    print(f"anchorid: {message}", file=sys.stderr)
    return EXIT_ERROR


def run_verify(public_key: PublicKey | None = None) -> tuple[int, str]:
    """Verify the configured database's log; returns the exit code and the report line. Django must be set up."""
    from anchorid.idp.audit.checkpoints import trusted_keys
    from anchorid.idp.audit.verify import verify_log
    from anchorid.idp.keystore import key_id, keystore_from_settings

    if public_key is not None:
        keys = {key_id(public_key): public_key}
    else:
        try:
            keys = trusted_keys(keystore_from_settings())
        except KeyNotFound:  # no checkpoint was ever signed; any checkpoint row found is then untrusted
            keys = {}
    report = verify_log(keys)
    if report.problem:
        return EXIT_BAD, f"audit log BROKEN at {report.problem}"
    unprotected = report.entries - report.last_checkpoint_size
    tail = f"; {unprotected} entries after the last checkpoint rest on the hash chain alone" if unprotected else ""
    return EXIT_OK, (
        f"audit log intact: {report.entries} entries, {report.checkpoints_checked} signed checkpoints verified{tail}"
    )


def _verify(args: argparse.Namespace) -> int:
    public_key = _load_public_key(args.public_key) if args.public_key else None
    _use_data_dir(args.data, migrate=False)
    from django.db import DatabaseError

    try:
        code, line = run_verify(public_key)
    except KeyStoreError as e:
        return _fail(str(e))
    except DatabaseError:
        return _fail(NO_DATABASE)
    print(line, file=sys.stdout if code == EXIT_OK else sys.stderr)
    return code


def _checkpoint(args: argparse.Namespace) -> int:
    _use_data_dir(args.data, migrate=True)
    from anchorid.idp.audit.checkpoints import LogBroken, make_checkpoint

    try:
        checkpoint = make_checkpoint()
    except LogBroken as e:
        print(f"anchorid: {e}", file=sys.stderr)
        return EXIT_BAD
    except KeyStoreError as e:
        return _fail(str(e))
    print(f"checkpoint at tree size {checkpoint.tree_size}: root {checkpoint.root_hash}")
    return EXIT_OK


def _prove(args: argparse.Namespace) -> int:
    _use_data_dir(args.data, migrate=False)
    from django.db import DatabaseError

    from anchorid.idp.audit.checkpoints import platform_public_key
    from anchorid.idp.audit.proofs import ProofUnavailable, prove_inclusion
    from anchorid.idp.keystore import keystore_from_settings

    try:
        proof = prove_inclusion(args.seq, platform_public_key(keystore_from_settings()))
    except (ProofUnavailable, KeyStoreError) as e:
        return _fail(str(e))
    except DatabaseError:
        return _fail(NO_DATABASE)
    print(json.dumps(proof, indent=2, ensure_ascii=False))
    return EXIT_OK


def _check_proof(args: argparse.Namespace) -> int:
    # Deliberately no Django and no database: anyone holding a proof (and the platform's public key) can check it.
    from anchorid.idp.audit.proof_check import check_inclusion_proof

    public_key = _load_public_key(args.public_key) if args.public_key else None
    try:
        proof: Any = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return _fail(f"cannot read {args.file}: {e}")
    result = check_inclusion_proof(proof, public_key)
    print(
        ("proof OK: " if result.ok else "proof INVALID: ") + result.message,
        file=sys.stdout if result.ok else sys.stderr,
    )
    return EXIT_OK if result.ok else EXIT_BAD


def _create_key(args: argparse.Namespace) -> int:
    _use_data_dir(args.data, migrate=False)
    from anchorid.idp.keystore import key_id, keystore_from_settings

    try:
        public_key = keystore_from_settings().create_key(args.name, args.algorithm)
    except KeyStoreError as e:
        return _fail(str(e))
    print(f"created {args.name} ({args.algorithm}), key id {key_id(public_key)}")
    return EXIT_OK


def _list_keys(args: argparse.Namespace) -> int:
    _use_data_dir(args.data, migrate=False)
    from anchorid.idp.conf import keystore_backend, keystore_dir
    from anchorid.idp.keystore import FILE_SUFFIX

    if keystore_backend() != "file":
        from anchorid.idp.keystore import keystore_from_settings

        try:
            names = keystore_from_settings().list()
        except KeyStoreError as e:
            return _fail(str(e))
        for name in names:
            print(name)
        return EXIT_OK
    directory = keystore_dir()
    # Listing needs no passphrase: the names are the file names.
    for path in sorted(directory.glob(f"*{FILE_SUFFIX}")) if directory.is_dir() else []:
        print(path.name.removesuffix(FILE_SUFFIX))
    return EXIT_OK


def _public_key(args: argparse.Namespace) -> int:
    _use_data_dir(args.data, migrate=False)
    from anchorid.idp.keystore import keystore_from_settings

    try:
        public_key = keystore_from_settings().public_key(args.name)
    except KeyStoreError as e:
        return _fail(str(e))
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    sys.stdout.write(pem.decode("ascii"))
    return EXIT_OK


def _migrate_keys(args: argparse.Namespace) -> int:
    """Move the key files into the PKCS#11 token named by ANCHORID_PKCS11_* (``keystore_migration``)."""
    _use_data_dir(args.data, migrate=False)
    from anchorid.idp import conf
    from anchorid.idp.keystore import file_keystore_from_settings
    from anchorid.idp.keystore_migration import migrate_to_token
    from anchorid.idp.pkcs11_keystore import Pkcs11KeyStore

    try:
        source = file_keystore_from_settings()
        target = Pkcs11KeyStore(conf.pkcs11_module(), conf.pkcs11_token_label(), conf.pkcs11_pin() or "")
        moved = migrate_to_token(source, target, remove_files=args.remove_files)
    except KeyStoreError as e:
        return _fail(str(e))
    for entry in moved:
        removed = ", file removed" if entry.file_removed else ""
        print(f"{entry.name}: {entry.outcome}, key id {entry.key_id}, checked {'+'.join(entry.checked)}{removed}")
    kept = "" if args.remove_files else f"; the key files in {source.directory} are untouched (--remove-files)"
    print(
        f"{len(moved)} key(s) in the token {target.token_label!r}{kept}. Now run the idp with ANCHORID_KEYSTORE=pkcs11."
    )
    return EXIT_OK


def add_idp_commands(commands: Any) -> None:
    """Register ``anchorid audit`` and ``anchorid idp`` on the top-level subparsers."""
    audit = commands.add_parser("audit", help="the ID platform's tamper-evident audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")

    verify = audit_commands.add_parser("verify", help="check the chain, every checkpoint root and signature")
    verify.add_argument("--data", required=True, help="the idp's data folder")
    verify.add_argument("--public-key", help="PEM of the platform key to trust (default: the key store's)")
    verify.set_defaults(func=_verify)

    checkpoint = audit_commands.add_parser("checkpoint", help="verify the log, then sign a checkpoint over it")
    checkpoint.add_argument("--data", required=True, help="the idp's data folder")
    checkpoint.set_defaults(func=_checkpoint)

    prove = audit_commands.add_parser("prove", help="print an inclusion proof (JSON) for one entry")
    prove.add_argument("--data", required=True, help="the idp's data folder")
    prove.add_argument("--seq", type=int, required=True)
    prove.set_defaults(func=_prove)

    check = audit_commands.add_parser("check-proof", help="check an inclusion proof file (no database needed)")
    check.add_argument("file")
    check.add_argument("--public-key", help="PEM of the platform key to trust (default: the copy in the proof)")
    check.set_defaults(func=_check_proof)

    idp = commands.add_parser("idp", help="the ID platform: its keys")
    idp_commands = idp.add_subparsers(dest="idp_command", required=True, metavar="COMMAND")

    create = idp_commands.add_parser("create-key", help="generate a key inside the key store")
    create.add_argument("name")
    create.add_argument("--algorithm", choices=KEY_ALGORITHMS, default="EC-P256")
    create.add_argument("--data", required=True, help="the idp's data folder")
    create.set_defaults(func=_create_key)

    listing = idp_commands.add_parser("list-keys", help="names of the stored keys")
    listing.add_argument("--data", required=True, help="the idp's data folder")
    listing.set_defaults(func=_list_keys)

    public = idp_commands.add_parser("public-key", help="print a stored key's public key (PEM), e.g. to pin it")
    public.add_argument("name")
    public.add_argument("--data", required=True, help="the idp's data folder")
    public.set_defaults(func=_public_key)

    keys = idp_commands.add_parser("keys", help="the key store as a whole: move it into an HSM")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    migrate = keys_commands.add_parser(
        "migrate", help="import the key files into the PKCS#11 token (ANCHORID_PKCS11_*) and check each key there"
    )
    migrate.add_argument("--to", choices=["pkcs11"], required=True, help="the key store to move the keys into")
    migrate.add_argument("--data", required=True, help="the idp's data folder")
    migrate.add_argument(
        "--remove-files", action="store_true", help="delete the key files once every key checked out in the token"
    )
    migrate.set_defaults(func=_migrate_keys)

    from anchorid.idp.onboarding.cli import add_onboarding_commands

    add_onboarding_commands(idp_commands)

    from anchorid.idp.deviceca.cli import add_ca_commands

    add_ca_commands(idp_commands)

    from anchorid.idp.oidc.cli import add_oidc_commands

    add_oidc_commands(idp_commands)

    from anchorid.idp.tsa.cli import add_tsa_commands

    add_tsa_commands(idp_commands)

    from anchorid.idp.ssf.cli import add_ssf_commands

    add_ssf_commands(idp_commands)

    from anchorid.idp.lifecycle.cli import add_lifecycle_commands

    add_lifecycle_commands(idp_commands)
    from anchorid.idp.guardians.cli import add_guardian_commands

    add_guardian_commands(idp_commands)
    from anchorid.idp.links.cli import add_links_commands

    add_links_commands(idp_commands)
