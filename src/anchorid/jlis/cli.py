"""``anchorid jlis ...``: seed residents and cards, life events at the counter, operators, staff, upkeep.

Every verb takes ``--data DIR`` (the jlis data folder; its database is created and migrated when missing) and
prints one JSON object. PINs are printed only where the counter hands them to the resident.
"""

from __future__ import annotations

import argparse
import datetime
import getpass
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _prepare(args: argparse.Namespace) -> None:
    from anchorid.common.serve import prepare_party
    from anchorid.jlis.keystore import KeyStoreError

    try:
        prepare_party("jlis", Path(args.data))  # the first migration creates the CA keys: it needs the passphrase
    except KeyStoreError as error:
        raise SystemExit(f"anchorid jlis: {error}") from None


def _print(payload: dict[str, Any]) -> int:
    print(json.dumps(payload, ensure_ascii=False, indent=1))
    return 0


def _fail(message: str) -> int:
    print(f"anchorid jlis: {message}", file=sys.stderr)
    return 2


def _resident(resident_id: int) -> Any:
    from anchorid.jlis.models import Resident

    resident = Resident.objects.filter(pk=resident_id).first()
    if resident is None:
        raise LookupError(f"no resident #{resident_id}")
    return resident


def _counter(action: Callable[[argparse.Namespace], dict[str, Any]]) -> Callable[[argparse.Namespace], int]:
    """Prepare Django, run a counter action, turn refusals into a message and exit code 2."""

    def run(args: argparse.Namespace) -> int:
        _prepare(args)
        from anchorid.jlis.issuance import IssuanceError
        from anchorid.jlis.keystore import KeyStoreError
        from anchorid.jlis.lifeevents import LifeEventError

        try:
            return _print(action(args))
        except (LifeEventError, IssuanceError, LookupError, ValueError, KeyStoreError) as exc:
            return _fail(str(exc))

    return run


def _serials(certificates: list[Any]) -> list[dict[str, str]]:
    return [{"kind": c.kind, "serial": str(c.serial), "reason": c.revocation_reason} for c in certificates]


def _seed(args: argparse.Namespace) -> dict[str, Any]:
    from anchorid.jlis.seed import INDEX_FILE, seed

    if args.residents < 1:
        raise ValueError("--residents must be at least 1")
    cards_dir = Path(args.cards_dir)
    rng = random.Random(args.seed) if args.seed is not None else None
    seeded = seed(args.residents, cards_dir, rng=rng)
    return {
        "residents": len(seeded),
        "under_15": sum(1 for s in seeded if s.signature_serial is None),
        "index": str((cards_dir / INDEX_FILE).resolve()),
    }


def _issue_card(args: argparse.Namespace) -> dict[str, Any]:
    from anchorid.jlis.issuance import issue_card
    from anchorid.jlis.seed import update_index

    cards_dir = Path(args.cards_dir) if args.cards_dir else None
    issued = issue_card(_resident(args.resident), cards_dir=cards_dir)
    entry = {
        "resident_id": args.resident,
        "card_file": str(issued.path),
        "signature_pin": issued.signature_pin,
        "authentication_pin": issued.authentication_pin,
        "text_ap_pin": issued.authentication_pin,
        "has_signature_certificate": issued.signature_certificate is not None,
        "signature_serial": str(issued.signature_certificate.serial) if issued.signature_certificate else None,
        "authentication_serial": str(issued.authentication_certificate.serial),
    }
    update_index(issued.path.parent, [entry])
    return entry


def _move(args: argparse.Namespace) -> dict[str, Any]:
    from anchorid.jlis.lifeevents import move

    revoked = move(_resident(args.resident), address=args.address, municipality_code=args.municipality_code)
    return {"event": "move", "resident": args.resident, "revoked": _serials(revoked)}


def _rename(args: argparse.Namespace) -> dict[str, Any]:
    from anchorid.jlis.lifeevents import change_name

    revoked = change_name(
        _resident(args.resident),
        family_name=args.family_name,
        given_name=args.given_name,
        family_name_kana=args.family_name_kana or "",
        given_name_kana=args.given_name_kana or "",
    )
    return {"event": "name_change", "resident": args.resident, "revoked": _serials(revoked)}


def _reissue(args: argparse.Namespace) -> dict[str, Any]:
    from anchorid.jlis.lifeevents import reissue_signature_certificate
    from anchorid.jlis.seed import update_index

    at = datetime.datetime.fromisoformat(args.at) if getattr(args, "at", None) else None
    if at is not None and at.tzinfo is None:
        raise ValueError("--at needs a time zone, e.g. 2027-01-01T10:00:00+09:00")
    new = reissue_signature_certificate(_resident(args.resident), now=at)
    update_index(Path(new.card.card_file).parent, [{"resident_id": args.resident, "signature_serial": str(new.serial)}])
    return {"event": "signature_reissued", "resident": args.resident, "serial": str(new.serial)}


def _family(args: argparse.Namespace) -> dict[str, Any]:
    from anchorid.jlis.family import register_family

    cards_dir = Path(args.cards_dir)
    turns_15 = datetime.date.fromisoformat(args.child_turns_15_on)
    return register_family(cards_dir, child_turns_15_on=turns_15, rng=random.Random(args.seed) if args.seed else None)


def _hold(args: argparse.Namespace) -> dict[str, Any]:
    from anchorid.jlis.lifeevents import hold_lost_card

    held = hold_lost_card(_resident(args.resident))
    return {"event": "hold", "resident": args.resident, "held": _serials(held)}


def _death(args: argparse.Namespace) -> dict[str, Any]:
    from anchorid.jlis.lifeevents import record_death

    revoked = record_death(_resident(args.resident))
    return {"event": "death", "resident": args.resident, "revoked": _serials(revoked)}


def _reset_pin(args: argparse.Namespace) -> dict[str, Any]:
    from anchorid.jlis.lifeevents import current_card, reset_pin
    from anchorid.jlis.seed import update_index
    from anchorid.jpki.cardfile import KeySlot

    slot = KeySlot(args.slot)
    new_pin = sys.stdin.readline().strip() if args.pin_stdin else None
    resident = _resident(args.resident)
    pin = reset_pin(resident, slot, new_pin=new_pin)
    card = current_card(resident)
    field = "signature_pin" if slot is KeySlot.SIGNATURE else "authentication_pin"
    if card is not None:
        update_index(Path(card.card_file).parent, [{"resident_id": args.resident, field: pin}])
    return {"event": "pin_reset", "resident": args.resident, "slot": slot.value, "pin": pin}


def _operator_add(args: argparse.Namespace) -> dict[str, Any]:
    from anchorid.jlis.operator_api import register_operator

    try:
        jwk = json.loads(Path(args.jwk).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the JWK file: {exc}") from None
    if not isinstance(jwk, dict):
        raise ValueError("the JWK file must hold one JSON object")
    from django.db import IntegrityError

    try:
        operator = register_operator(args.name, jwk)
    except IntegrityError:
        raise ValueError("an operator with this name or key is already registered") from None
    return {"operator": operator.name, "kid": operator.key_id}


def _operator_list(args: argparse.Namespace) -> dict[str, Any]:
    from anchorid.jlis.models import PlatformOperator

    return {
        "operators": [
            {"name": o.name, "kid": o.key_id, "active": o.active} for o in PlatformOperator.objects.order_by("id")
        ]
    }


def _createstaff(args: argparse.Namespace) -> dict[str, Any]:
    # jlis keeps Django's own user model for its staff (the idp's account model is not jlis's).
    from django.contrib.auth.models import User

    password = sys.stdin.readline().strip() if args.password_stdin else getpass.getpass("password: ")
    if len(password) < 8:
        raise ValueError("the password needs at least 8 characters")
    if User.objects.filter(username=args.username).exists():
        raise ValueError(f"user {args.username!r} exists")
    User.objects.create_superuser(username=args.username, email="", password=password)
    return {"staff": args.username, "admin": "/admin/"}


def _refresh(args: argparse.Namespace) -> dict[str, Any]:
    from anchorid.jlis.crl import regenerate_crl
    from anchorid.jlis.models import CertificateKind
    from anchorid.jlis.ocsp import refresh_stale_responses

    responses = refresh_stale_responses()
    for kind in CertificateKind:
        regenerate_crl(kind)
    return {"ocsp_responses_resigned": responses, "crls": [k.value for k in CertificateKind]}


def _export_ca(args: argparse.Namespace) -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization

    from anchorid.jlis.authority import load_authority
    from anchorid.jlis.models import CertificateKind

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in CertificateKind:
        authority = load_authority(kind)
        for suffix, certificate in (("ca", authority.certificate), ("ocsp", authority.responder_certificate)):
            path = out / f"{kind.value}-{suffix}.pem"
            path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
            written.append(str(path))
    return {"written": written}


def _upgrade_keys(args: argparse.Namespace) -> dict[str, Any]:
    """Move CA keys of an earlier version (PKCS#8 ``.pem``, PBKDF2) into the key store (scrypt + AES-GCM) under
    ``ANCHORID_JLIS_CA_PASSPHRASE``. They opened with that passphrase, or with the one earlier versions derived
    from SECRET_KEY when it was unset (``--from-secret-key``)."""
    from django.db import transaction

    from anchorid.jlis import conf
    from anchorid.jlis.keystore import (
        LEGACY_SUFFIX,
        KeyStoreError,
        legacy_secret_key_passphrase,
        passphrase_problem,
        remove_legacy_key,
        upgrade_legacy_key,
    )
    from anchorid.jlis.models import CertificateAuthority

    problem = passphrase_problem()
    if problem:
        raise KeyStoreError(problem)
    old = legacy_secret_key_passphrase() if args.from_secret_key else conf.ca_passphrase().encode("utf-8")
    upgraded = []
    for row in CertificateAuthority.objects.order_by("pk"):
        for field in ("key_file", "responder_key_file"):
            legacy = getattr(row, field)
            if not legacy.endswith(LEGACY_SUFFIX):
                continue
            with transaction.atomic():
                setattr(row, field, upgrade_legacy_key(legacy, old))
                row.save(update_fields=[field])
            remove_legacy_key(legacy)
            upgraded.append(getattr(row, field))
    return {"upgraded": upgraded}


def _migrate_keys(args: argparse.Namespace) -> dict[str, Any]:
    """Move the CA key files into J-LIS's PKCS#11 token (ANCHORID_JLIS_PKCS11_*); the rows keep their names."""
    from anchorid.idp.keystore import KeyStoreError as StoreError
    from anchorid.idp.keystore_migration import migrate_to_token
    from anchorid.idp.pkcs11_keystore import Pkcs11KeyStore
    from anchorid.jlis import conf
    from anchorid.jlis.keystore import PKCS11_SETTINGS, KeyStoreError, file_store

    try:
        target = Pkcs11KeyStore(
            conf.pkcs11_module(), conf.pkcs11_token_label(), conf.pkcs11_pin(), setting_prefix=PKCS11_SETTINGS
        )
        moved = migrate_to_token(file_store(), target, remove_files=args.remove_files)
    except StoreError as error:
        raise KeyStoreError(str(error)) from None
    return {
        "token": target.token_label,
        "keys": [
            {"name": m.name, "outcome": m.outcome, "key_id": m.key_id, "checked": list(m.checked),
             "file_removed": m.file_removed}
            for m in moved
        ],
        "next": "run jlis with ANCHORID_JLIS_KEYSTORE=pkcs11",
    }  # fmt: skip


def add_jlis_commands(commands: Any) -> None:
    jlis = commands.add_parser("jlis", help="the simulated J-LIS: seed residents, life events, operators")
    verbs = jlis.add_subparsers(dest="jlis_command", required=True, metavar="VERB")

    def verb(name: str, help_text: str, action: Callable[[argparse.Namespace], dict[str, Any]]) -> Any:
        parser = verbs.add_parser(name, help=help_text)
        parser.add_argument("--data", required=True, help="the jlis data folder")
        parser.set_defaults(func=_counter(action))
        return parser

    def resident_verb(name: str, help_text: str, action: Callable[[argparse.Namespace], dict[str, Any]]) -> Any:
        parser = verb(name, help_text, action)
        parser.add_argument("--resident", type=int, required=True, help="resident id")
        return parser

    seed = verb("seed", "register N synthetic Kamakura residents and write their card files", _seed)
    seed.add_argument("--residents", type=int, required=True)
    seed.add_argument("--cards-dir", required=True, help="folder for the card files and INDEX.json (PINs)")
    seed.add_argument("--seed", type=int, help="random seed for reproducible residents")

    issue = resident_verb("issue-card", "issue a new card (replaces and invalidates the previous one)", _issue_card)
    issue.add_argument("--cards-dir", help="folder for the card file (default: DATA/cards)")

    move = resident_verb("move", "address change: revokes the signature certificate (affiliationChanged)", _move)
    move.add_argument("--address", required=True)
    move.add_argument("--municipality-code", help="when moving to another municipality")

    rename = resident_verb("rename", "name change: revokes the signature certificate (affiliationChanged)", _rename)
    rename.add_argument("--family-name", required=True)
    rename.add_argument("--given-name", required=True)
    rename.add_argument("--family-name-kana")
    rename.add_argument("--given-name-kana")

    reissue = resident_verb("reissue-signature", "new signature key and certificate at the counter", _reissue)
    reissue.add_argument(
        "--at", help="the counter's clock (ISO 8601 with zone; simulated J-LIS only), e.g. a 15th birthday"
    )
    family = verb("family", "register a parent and a child under 15 in one household, with their cards", _family)
    family.add_argument("--cards-dir", required=True, help="folder for the card files and INDEX.json (PINs)")
    family.add_argument("--child-turns-15-on", required=True, help="the child's 15th birthday (YYYY-MM-DD, future)")
    family.add_argument("--seed", type=int, help="random seed for reproducible residents")
    resident_verb("hold", "24/7 hotline, lost card: certificateHold on both certificates", _hold)
    resident_verb("death", "record a death: both certificates revoked, card invalidated", _death)

    reset = resident_verb("reset-pin", "reset a PIN at the counter (prints the new PIN)", _reset_pin)
    reset.add_argument("--slot", choices=["signature", "authentication"], required=True)
    reset.add_argument("--pin-stdin", action="store_true", help="read the new PIN from stdin instead of drawing one")

    operator = verbs.add_parser("operator", help="platform operators allowed to call the operator API")
    operator_verbs = operator.add_subparsers(dest="operator_command", required=True, metavar="VERB")
    add = operator_verbs.add_parser("add", help="register an operator and its ES256 public key")
    add.add_argument("--data", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--jwk", required=True, help="file with the operator's P-256 JWK (private members ignored)")
    add.set_defaults(func=_counter(_operator_add))
    listing = operator_verbs.add_parser("list", help="list registered operators")
    listing.add_argument("--data", required=True)
    listing.set_defaults(func=_counter(_operator_list))

    staff = verb("createstaff", "create a staff user for /admin/", _createstaff)
    staff.add_argument("--username", required=True)
    staff.add_argument("--password-stdin", action="store_true")

    verb("refresh", "re-sign OCSP responses near nextUpdate and reissue both CRLs (run from cron)", _refresh)
    upgrade = verb("upgrade-keys", "move CA keys of an earlier version into the key store (scrypt)", _upgrade_keys)
    upgrade.add_argument("--from-secret-key", action="store_true",
                         help="they were made without ANCHORID_JLIS_CA_PASSPHRASE (from SECRET_KEY)")  # fmt: skip
    keys = verbs.add_parser("keys", help="the CA key store as a whole: move it into an HSM")
    keys_verbs = keys.add_subparsers(dest="keys_command", required=True, metavar="VERB")
    migrate = keys_verbs.add_parser("migrate", help="import the CA key files into the PKCS#11 token and check them")
    migrate.add_argument("--to", choices=["pkcs11"], required=True)
    migrate.add_argument("--data", required=True, help="the jlis data folder")
    migrate.add_argument("--remove-files", action="store_true", help="delete the key files once all checked out")
    migrate.set_defaults(func=_counter(_migrate_keys))
    export = verb("export-ca", "write the CA and OCSP responder certificates as PEM", _export_ca)
    export.add_argument("--out", required=True)
