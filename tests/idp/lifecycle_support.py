"""Fixtures for the lifecycle tests: a real jlis of their own (life events here must not touch other suites'
residents), the idp registered at it as platform operator, the real card helper, and CRLs made to order (served over
real HTTP by ``support.crl_server.serving_crl``). Imported by tests/idp/test_lifecycle_*.py.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from pytest_django.fixtures import Settings

from anchorid.idp.accounts.models import Account

from . import onboarding_support as support
from .onboarding_support import JLIS_CA_PASSPHRASE, Helper, Jlis, free_port, onboard

RESIDENTS = 16
#: Which seeded adult each test family uses: life events at jlis are permanent for the session.
ADULT_PLAIN, ADULT_MOVED, ADULT_HELD, ADULT_DEAD, ADULT_JIT, ADULT_CONSENT, ADULT_JLIS_DOWN, ADULT_RENAMED = range(8)
ADULT_SSF = 8
ADULT_OTHER_CARD = 9


@pytest.fixture(scope="session")
def lifecycle_jlis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jlis]:
    """``anchorid serve jlis`` on a free port (own SQLite), seeded with enough adults, the idp registered."""
    from support.jlis_server import jlis_env, serve_jlis

    data = tmp_path_factory.mktemp("lifecycle-jlis")
    env = jlis_env(JLIS_CA_PASSPHRASE)
    port = free_port()
    jlis = Jlis(url=f"http://127.0.0.1:{port}", data=data, env=env, keys=data / "idp-keys")
    jlis.cli("seed", "--residents", str(RESIDENTS), "--cards-dir", str(data / "cards"), "--seed", "5")
    while len([card for card in jlis.cards() if card["has_signature_certificate"]]) <= ADULT_OTHER_CARD:
        jlis.cli("seed", "--residents", "4", "--cards-dir", str(data / "cards"))
    support.register_idp(jlis)
    with serve_jlis(data, env, port=port):
        yield jlis


@pytest.fixture
def jlis(lifecycle_jlis: Jlis, settings: Settings) -> Jlis:
    """Point the idp at the lifecycle jlis (URL, trust anchors, operator key)."""
    return support.point_idp_at(lifecycle_jlis, settings)


def onboarded(
    jlis: Jlis, card_helper: Callable[..., Helper], index: int
) -> tuple[Account, Client, Helper, dict[str, Any]]:
    """Onboard seeded adult ``index`` with the real card helper: (account, logged-in client, helper, card)."""
    card = jlis.adult(index)
    helper = card_helper(card["card_file"], card["signature_pin"])
    client = Client()
    response = onboard(client, helper)
    assert response.status_code in (200, 201), response.content
    account = Account.objects.get(anchors__serial=str(support.card_certificate(card["card_file"]).serial_number))
    return account, client, helper, card


def closed_port_url() -> str:
    """A URL nothing listens on: jlis really unreachable (connection refused)."""
    return f"http://127.0.0.1:{free_port()}"


def jlis_signature_ca(jlis: Jlis) -> x509.Certificate:
    return x509.load_pem_x509_certificate((jlis.data / "pem" / "sign-ca.pem").read_bytes())


def make_crl(
    issuer: x509.Certificate,
    key: rsa.RSAPrivateKey,
    serials: list[int],
    *,
    this_update: datetime.datetime,
    next_update: datetime.datetime,
    number: int = 10**9,
    reason: x509.ReasonFlags = x509.ReasonFlags.affiliation_changed,
) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for serial in serials:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(this_update)
            .add_extension(x509.CRLReason(reason), critical=False)
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def ca_key(jlis: Jlis) -> rsa.RSAPrivateKey:
    return jlis.ca_key()


def card_serial(card: dict[str, Any]) -> int:
    return support.card_certificate(Path(card["card_file"])).serial_number
