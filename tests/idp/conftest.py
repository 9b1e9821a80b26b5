from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from pytest_django.fixtures import Settings

from anchorid.idp.audit.chain import append
from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.keystore import EncryptedFileKeyStore
from support.jlis_server import free_port, jlis_env, seed_jlis, seeded_cards, serve_jlis, stop, wait_for

# One seeded jlis per test session (per xdist worker) for the onboarding tests and one for the lifecycle tests,
# shared by every module that uses them: each test family uses its own seeded adults (ADULT_* in the support
# modules), because life events at jlis are permanent for the session.
from .lifecycle_support import jlis, lifecycle_jlis  # noqa: F401 (fixtures)
from .onboarding_support import card_helper, idp, onboarding_jlis  # noqa: F401 (fixtures)

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(autouse=True)
def production_wsgi(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test client (``django.test.Client()``, the ``client`` fixture) answers the paths production serves
    through the thin dispatch with anchorid.idp.wsgi.application itself (``production_wsgi``)."""
    import django.test.client

    from .production_wsgi import ProductionClientHandler

    monkeypatch.setattr(django.test.client, "ClientHandler", ProductionClientHandler)


# Cheap scrypt for tests that only need *a* store; the default cost is exercised in test_keystore.
FAST_SCRYPT_N = 2**10


@pytest.fixture
def passphrase() -> str:
    return PASSPHRASE


@pytest.fixture
def open_keystore() -> Callable[[Path], EncryptedFileKeyStore]:
    def open_(directory: Path) -> EncryptedFileKeyStore:
        return EncryptedFileKeyStore(directory, PASSPHRASE, scrypt_n=FAST_SCRYPT_N)

    return open_


@pytest.fixture
def keystore(tmp_path: Path, open_keystore: Callable[[Path], EncryptedFileKeyStore]) -> EncryptedFileKeyStore:
    return open_keystore(tmp_path / "keys")


@pytest.fixture
def platform_keys(settings: Settings, tmp_path: Path) -> Path:
    """Point the idp's key store at ``tmp_path/keys`` (what ``--data tmp_path`` would use) and unlock it."""
    settings.ANCHORID_KEYSTORE_DIR = tmp_path / "keys"
    settings.ANCHORID_KEYSTORE_PASSPHRASE = PASSPHRASE
    return tmp_path


@pytest.fixture
def log_entries() -> Callable[[int], list[AuditEntry]]:
    def write(count: int, **details: Any) -> list[AuditEntry]:
        return [
            append("login", f"acct_{i}", f"acct_{i}", details or {"method": "passkey", "outcome": "success"})
            for i in range(count)
        ]

    return write


# --- device certificates and the wallet (deviceca) -------------------------------------------------------------
# A real jlis server (seeded residents with virtual cards) for card signatures and OCSP, and the platform CA.


@dataclass(frozen=True)
class JlisServer:
    url: str
    data: Path
    pem: Path
    cards: list[dict[str, Any]]
    env: dict[str, str]

    @property
    def trust_anchors(self) -> str:
        return f"{self.pem / 'sign-ca.pem'},{self.pem / 'auth-ca.pem'}"

    def card(self, index: int) -> dict[str, Any]:
        """A seeded adult's card (INDEX.json entry: card_file, signature_pin, ...)."""
        adults = [card for card in self.cards if card["has_signature_certificate"]]
        return adults[index]


@pytest.fixture(scope="session")
def jlis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JlisServer]:
    """``anchorid serve jlis`` on a free port, seeded with 4 residents; its own SQLite even under DATABASE_URL."""
    data = tmp_path_factory.mktemp("jlis-for-idp")
    env = jlis_env("test passphrase")
    seed_jlis(env, data, residents=4, seed=7)
    with serve_jlis(data, env) as url:
        yield JlisServer(url=url, data=data, pem=data / "pem", cards=seeded_cards(data), env=env)


IDP_TEST_ORIGIN = "http://testserver"


@pytest.fixture
def device_ca(platform_keys: Path, settings: Settings, db: None) -> Any:
    """The platform CA, created in this test's database and key folder, publishing at http://testserver."""
    from anchorid.idp.deviceca.authority import init_ca
    from anchorid.idp.deviceca.keys import ca_keystore

    settings.ANCHORID_IDP_ORIGIN = IDP_TEST_ORIGIN
    return init_ca(ca_keystore(), IDP_TEST_ORIGIN)


@pytest.fixture
def use_jlis(jlis_server: JlisServer, settings: Settings) -> JlisServer:
    """Point the idp's jlis client at the running jlis and trust its CAs."""
    settings.ANCHORID_JLIS_URL = jlis_server.url
    settings.ANCHORID_JPKI_TRUST_ANCHORS = jlis_server.trust_anchors
    return jlis_server


def _card_signature_certificate(card_file: str | Path) -> x509.Certificate:
    from anchorid.jpki.cardfile import CardFile, KeySlot

    certificate = CardFile.load(Path(card_file)).certificate(KeySlot.SIGNATURE)
    assert certificate is not None
    return certificate


def _anchor_account(certificate: x509.Certificate, *, handle: str | None = None) -> Any:
    """An account anchored on ``certificate``, as card onboarding leaves it (attributes aside)."""
    import hashlib

    from cryptography.hazmat.primitives import serialization

    from anchorid.idp.accounts.models import Account, AnchorCertificate

    account = Account.objects.create_user(handle or f"resident-{certificate.serial_number}")
    AnchorCertificate.objects.create(
        account=account,
        issuer_fingerprint="0" * 64,
        serial=str(certificate.serial_number),
        fingerprint=hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
    )
    return account


@pytest.fixture
def card_certificate() -> Callable[[str | Path], x509.Certificate]:
    """The signature certificate stored in a virtual card file."""
    return _card_signature_certificate


@pytest.fixture
def anchor_account(db: None) -> Callable[..., Any]:
    """``anchor_account(certificate)``: an account anchored on that JPKI signature certificate."""
    return _anchor_account


# --- a running idp (``anchorid serve idp``) with the platform CA and one resident anchored on a seeded card ----

WALLET_PASSPHRASE = "wallet passphrase 1"

ANCHOR_SCRIPT = """
import hashlib, sys
from pathlib import Path
from anchorid.common.serve import prepare_party
prepare_party("idp", Path(sys.argv[1]))
from cryptography.hazmat.primitives import serialization
from anchorid.idp.accounts.models import Account, AnchorCertificate
from anchorid.jpki.cardfile import CardFile, KeySlot
certificate = CardFile.load(Path(sys.argv[2])).certificate(KeySlot.SIGNATURE)
account = Account.objects.create_user("resident-live")
AnchorCertificate.objects.create(
    account=account, issuer_fingerprint="0" * 64, serial=str(certificate.serial_number),
    fingerprint=hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest(),
    not_before=certificate.not_valid_before_utc, not_after=certificate.not_valid_after_utc,
)
"""


@dataclass(frozen=True)
class LiveIdp:
    url: str
    data: Path
    env: dict[str, str]
    card: dict[str, Any]

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "anchorid.cli", *args], env=self.env, input=stdin, capture_output=True, text=True
        )


@pytest.fixture(scope="module")
def live_idp(jlis_server: JlisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIdp]:
    """The idp served on a free port (own SQLite), CA initialised, the second seeded adult anchored on an account."""
    data = tmp_path_factory.mktemp("live-idp")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        ANCHORID_DATA_DIR=str(data),
        ANCHORID_KEYSTORE_PASSPHRASE=PASSPHRASE,
        ANCHORID_IDP_ORIGIN=url,
        ANCHORID_JLIS_URL=jlis_server.url,
        ANCHORID_JPKI_TRUST_ANCHORS=jlis_server.trust_anchors,
        ANCHORID_INSECURE_COOKIES="1",
        ANCHORID_WALLET_PASSPHRASE=WALLET_PASSPHRASE,
    )
    card = jlis_server.card(1)
    cli = [sys.executable, "-m", "anchorid.cli"]
    subprocess.run([*cli, "idp", "ca", "init", "--data", str(data)], env=env, check=True, capture_output=True)
    subprocess.run([sys.executable, "-c", ANCHOR_SCRIPT, str(data), card["card_file"]], env=env, check=True)
    server = subprocess.Popen(
        [*cli, "serve", "idp", "--port", str(port), "--data", str(data)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"{url}/pki/root.cer", server, "idp")
        yield LiveIdp(url=url, data=data, env=env, card=card)
    finally:
        stop(server)
