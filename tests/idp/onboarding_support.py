"""Fixtures for the onboarding tests: a real jlis server process, the idp registered at it as a platform operator,
and the real card helper serving seeded virtual cards. Imported by tests/idp/test_onboarding_*.py."""

from __future__ import annotations

import base64
import datetime
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import caches
from django.test import Client
from joserfc.jwk import ECKey
from pytest_django.fixtures import Settings

from anchorid.cardhelper.helper import CardHelperServer
from anchorid.idp import jlis_client, keystore
from anchorid.idp.keystore import EncryptedFileKeyStore
from anchorid.jpki.cardfile import CardFile, KeySlot
from anchorid.jpki.client import JPKICard
from anchorid.jpki.transport import EmulatorTransport
from support.jlis_server import free_port as free_port  # the onboarding tests take it from here
from support.jlis_server import jlis_env, serve_jlis

KEYSTORE_PASSPHRASE = "correct horse battery staple"
JLIS_CA_PASSPHRASE = "onboarding test CA passphrase"
IDP_ORIGIN = "http://testserver"
RESIDENTS = 14
#: Which seeded adult each test family uses (tests that change a resident at jlis get their own).
ADULT_PLAIN, ADULT_REVOKED, ADULT_RENEWED, ADULT_MOVED, ADULT_CONCURRENT, ADULT_SUSPENDED = range(6)


@dataclass(frozen=True)
class Jlis:
    url: str
    data: Path
    env: dict[str, str]
    keys: Path

    def cli(self, *args: str, stdin: str | None = None) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "anchorid.cli", "jlis", *args, "--data", str(self.data)],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
        )
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def cards(self) -> list[dict[str, Any]]:
        cards: list[dict[str, Any]] = json.loads((self.data / "cards" / "INDEX.json").read_text())["cards"]
        return cards

    def adult(self, index: int) -> dict[str, Any]:
        return [card for card in self.cards() if card["has_signature_certificate"]][index]

    def child(self) -> dict[str, Any]:
        return next(card for card in self.cards() if not card["has_signature_certificate"])

    def ca_key(self) -> rsa.RSAPrivateKey:
        """The simulated J-LIS signature CA's key (to forge an expired certificate it 'issued')."""
        (path,) = (self.data / "jlis-keys").glob("sign-ca-*.key.json")
        # jlis's key store hands out a signer (the key stays inside); cryptography's builders sign through it.
        key = EncryptedFileKeyStore(path.parent, JLIS_CA_PASSPHRASE).signer(path.name.removesuffix(".key.json"))
        assert isinstance(key, rsa.RSAPrivateKey)
        return key


@pytest.fixture(scope="session")
def onboarding_jlis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jlis]:
    """``anchorid serve jlis`` on a free port (own SQLite, also under DATABASE_URL), seeded, the idp registered."""
    data = tmp_path_factory.mktemp("onboarding-jlis")
    env = jlis_env(JLIS_CA_PASSPHRASE)
    port = free_port()
    jlis = Jlis(url=f"http://127.0.0.1:{port}", data=data, env=env, keys=data / "idp-keys")
    jlis.cli("seed", "--residents", str(RESIDENTS), "--cards-dir", str(data / "cards"), "--seed", "3")
    while not any(not card["has_signature_certificate"] for card in jlis.cards()):
        jlis.cli("seed", "--residents", "4", "--cards-dir", str(data / "cards"))
    register_idp(jlis)
    with serve_jlis(data, env, port=port):
        yield jlis


def register_idp(jlis: Jlis) -> None:
    """The idp's operator key, in a key store like the idp's (cheap scrypt), registered at ``jlis``; jlis's CAs
    exported to ``pem/`` (the idp's trust anchors)."""
    store = EncryptedFileKeyStore(jlis.keys, KEYSTORE_PASSPHRASE, scrypt_n=2**10)
    public_key = store.create_key(jlis_client.OPERATOR_KEY_NAME, "EC-P256")
    jwk_file = jlis.data / "idp-operator.jwk.json"
    jwk_file.write_text(json.dumps(ECKey.import_key(public_key).as_dict(private=False)))
    jlis.cli("operator", "add", "--name", "anchorid-idp", "--jwk", str(jwk_file))
    jlis.cli("export-ca", "--out", str(jlis.data / "pem"))


@pytest.fixture
def idp(onboarding_jlis: Jlis, settings: Settings) -> Jlis:
    """Point the idp at the running jlis: its URL, its CAs as trust anchors, the key store with the operator key."""
    return point_idp_at(onboarding_jlis, settings)


def point_idp_at(jlis: Jlis, settings: Settings) -> Jlis:
    """The idp's settings for ``jlis`` (URL, trust anchors, operator key store, origin, generous onboarding limits),
    the rate-limit cache and the cached key store cleared; returns ``jlis``."""
    pem = jlis.data / "pem"
    settings.ANCHORID_JLIS_URL = jlis.url
    settings.ANCHORID_JPKI_TRUST_ANCHORS = f"{pem / 'sign-ca.pem'},{pem / 'auth-ca.pem'}"
    settings.ANCHORID_KEYSTORE_DIR = jlis.keys
    settings.ANCHORID_KEYSTORE_PASSPHRASE = KEYSTORE_PASSPHRASE
    settings.ANCHORID_IDP_ORIGIN = IDP_ORIGIN
    settings.ANCHORID_ONBOARDING_LIMITS = {"ip": (1000, 600), "certificate": (1000, 600)}
    caches["default"].clear()
    keystore._shared_stores.clear()  # a store unlocked under other settings must not be reused
    return jlis


@dataclass
class Helper:
    url: str
    server: CardHelperServer
    #: What the helper showed the resident, one entry per time it asked for the signature password.
    prompts: list[str] = field(default_factory=list)

    def sign(self, challenge: str, *, origin: str = IDP_ORIGIN) -> requests.Response:
        return requests.post(
            f"{self.url}/v1/sign", json={"challenge": challenge}, headers={"Origin": origin}, timeout=30
        )


@pytest.fixture
def card_helper() -> Iterator[Callable[..., Helper]]:
    """``card_helper(card_file, pin)``: the real card helper on a free localhost port, serving that virtual card."""
    servers: list[CardHelperServer] = []

    def start(card_file: str | Path, pin: str | None, *, origin: str = IDP_ORIGIN) -> Helper:
        prompts: list[str] = []

        def pin_source(prompt: str) -> str | None:
            prompts.append(prompt)
            return pin

        server = CardHelperServer(
            port=0,
            idp_origin=origin,
            open_card=lambda: JPKICard(EmulatorTransport(card_file)),
            pin_source=pin_source,
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return Helper(f"http://127.0.0.1:{server.server_port}", server, prompts)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def open_page(client: Client) -> tuple[str, str, str]:
    """GET the onboarding page: (challenge text, nonce, cross-device code)."""
    response = client.get("/onboarding/")
    assert response.status_code == 200, response.content
    return response.context["challenge"], response.context["nonce"], response.context["code"]


def complete(client: Client, challenge: str, certificate: str, signature: str) -> Any:
    body = json.dumps({"challenge": challenge, "certificate": certificate, "signature": signature})
    return client.post("/onboarding/complete/", data=body, content_type="application/json")


def onboard(client: Client, helper: Helper) -> Any:
    """The page's part of the flow: open a challenge, have the helper sign it, post the answer."""
    challenge, _, _ = open_page(client)
    signed = helper.sign(challenge)
    assert signed.status_code == 200, signed.text
    return complete(client, challenge, **signed.json())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def card_sign(card_file: str | Path, data: bytes, pin: str, key: KeySlot = KeySlot.SIGNATURE) -> bytes:
    with JPKICard(EmulatorTransport(card_file)) as card:
        return card.sign(data, pin=pin, key=key)


def card_certificate(card_file: str | Path, slot: KeySlot = KeySlot.SIGNATURE) -> x509.Certificate:
    certificate = CardFile.load(Path(card_file)).certificate(slot)
    assert certificate is not None
    return certificate


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
