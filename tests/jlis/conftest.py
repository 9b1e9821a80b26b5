"""Fixtures for the jlis tests.

RSA key generation is slow, so the CAs (created when the test database is migrated) and a few residents with
cards are made once per session and committed; tests that change a resident make their own inside the test
transaction. The ``live_jlis`` fixture runs the real server (``anchorid serve jlis``) in a subprocess for the
openssl checks; it uses its own SQLite data folder even when DATABASE_URL is set, so that it never touches the
PostgreSQL database the in-process tests use.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from joserfc import jws
from joserfc.jwk import ECKey

from anchorid.jlis.issuance import IssuedCard, issue_card
from anchorid.jlis.models import Resident
from anchorid.jlis.operator_api import AUTHORIZATION_SCHEME, body_hash
from anchorid.jlis.seed import new_my_number
from anchorid.jpki.cardfile import CardFile, KeySlot
from support.jlis_server import jlis_env, seed_jlis, seeded_cards, serve_jlis

#: DER prefix of a SHA-256 DigestInfo (RFC 8017 §9.2 note 1): what the card signs over.
#: The in-process suite's CA passphrase (the CA keys open with nothing else).
CA_PASSPHRASE = "jlis test CA passphrase"
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


@pytest.fixture(scope="session")
def jlis_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("jlis")
    override = override_settings(
        JLIS_KEY_DIR=base / "keys", JLIS_CARDS_DIR=base / "cards", JLIS_CA_PASSPHRASE=CA_PASSPHRASE
    )
    override.enable()
    yield base
    override.disable()


@pytest.fixture(scope="session")
def django_db_setup(jlis_dirs: Path, django_db_setup: None) -> None:
    """The key folder and passphrase are set before the test database is migrated (migration creates the CAs)."""


def new_resident(
    *,
    family_name: str = "鎌倉",
    given_name: str = "花子",
    birth_date: datetime.date | None = None,
    address: str = "神奈川県鎌倉市御成町１８番１０号",
) -> Resident:
    return Resident.objects.create(
        family_name=family_name,
        given_name=given_name,
        family_name_kana="カマクラ",
        given_name_kana="ハナコ",
        birth_date=birth_date or datetime.date(1990, 4, 1),
        gender=Resident.Gender.FEMALE,
        address=address,
        municipality_code="142042",
        my_number=new_my_number(),
    )


@dataclass(frozen=True)
class Counter:
    """Residents with cards, issued once per session (never mutate these in a test)."""

    adult: IssuedCard
    other_adult: IssuedCard
    child: IssuedCard


@pytest.fixture(scope="session")
def counter(django_db_setup: None, django_db_blocker: Any) -> Counter:
    with django_db_blocker.unblock():
        today = timezone.localdate()
        adult = issue_card(new_resident(family_name="𠮷田"))
        other = issue_card(new_resident(family_name="佐藤", given_name="健一", birth_date=datetime.date(1975, 7, 7)))
        child = issue_card(new_resident(given_name="紬", birth_date=today - datetime.timedelta(days=8 * 365)))
    return Counter(adult=adult, other_adult=other, child=child)


@pytest.fixture
def fresh(db: None) -> IssuedCard:
    """A resident with a new card, inside this test's transaction: free to move, die or lose the card."""
    return issue_card(new_resident())


@pytest.fixture
def make_resident(db: None) -> Any:
    return new_resident


def sign_with_card(card_file: Path, data: bytes) -> bytes:
    """What the card returns for COMPUTE DIGITAL SIGNATURE over SHA-256(data) with the signature key."""
    digest_info = SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(data).digest()
    return CardFile.load(card_file).sign_digest_info(KeySlot.SIGNATURE, digest_info)


@pytest.fixture(scope="session")
def card_sign() -> Any:
    return sign_with_card


# --- operator API ---------------------------------------------------------------------------------------------


@dataclass
class OperatorClient:
    """Signs each request as a registered platform operator would."""

    client: Client
    key: ECKey
    kid: str

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        *,
        iat: int | None = None,
        jti: str | None = None,
        key: ECKey | None = None,
        sign_path: str | None = None,
    ) -> Any:
        claims = {
            "htm": method,
            "htu": "http://testserver" + (sign_path or path),
            "bsh": body_hash(body),
            "iat": int(time.time()) if iat is None else iat,
            "jti": jti or uuid.uuid4().hex,
        }
        token = jws.serialize_compact({"alg": "ES256", "kid": self.kid}, json.dumps(claims), key or self.key)
        return self.client.generic(
            method, path, body, content_type="application/json", HTTP_AUTHORIZATION=f"{AUTHORIZATION_SCHEME} {token}"
        )


@pytest.fixture(scope="session")
def operator_key() -> ECKey:
    return ECKey.generate_key("P-256")


# --- the running server ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveJlis:
    url: str
    data: Path
    cards: list[dict[str, Any]]
    pem: Path
    env: dict[str, str]

    def cli(self, *args: str) -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, "-m", "anchorid.cli", "jlis", *args, "--data", str(self.data)],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        result: dict[str, Any] = json.loads(out)
        return result


@pytest.fixture(scope="session")
def live_jlis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveJlis]:
    data = tmp_path_factory.mktemp("live-jlis")
    env = jlis_env("test passphrase")
    seed_jlis(env, data, residents=6, seed=3)
    with serve_jlis(data, env) as url:
        yield LiveJlis(url=url, data=data, cards=seeded_cards(data), pem=data / "pem", env=env)


OPERATOR_NAME = "Kamakura ID Platform K.K."


@pytest.fixture
def operator(db: None, client: Client, operator_key: ECKey) -> OperatorClient:
    """A registered platform operator and a client that signs its requests."""
    from anchorid.jlis.operator_api import register_operator

    registered = register_operator(OPERATOR_NAME, operator_key.as_dict(private=True))
    return OperatorClient(client=client, key=operator_key, kid=registered.key_id)
