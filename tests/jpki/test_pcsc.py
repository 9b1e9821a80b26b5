"""The path a real reader takes: pcscd -> vsmartcard-vpcd -> our virtual card, driven through pyscard.

With ANCHORID_PCSC_AVAILABLE=1 (set by scripts/test after starting pcscd) an unreachable pcscd is a
failure, not a skip: CI must prove this path works.
"""

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from anchorid.jpki.cardfile import CardFile, KeySlot, PinReference
from anchorid.jpki.client import JPKICard
from anchorid.jpki.errors import CardNotPresent, WrongPin
from anchorid.jpki.transport import PcscTransport
from anchorid.jpki.vpcd import VPCD_DEFAULT_PORT, VPCD_READER_NAME, serve_card

pytestmark = pytest.mark.pcsc

CARD_INSERTION_TIMEOUT = 15.0


def pcsc_problem() -> str | None:
    """Why the PC/SC path cannot run here, or None. Only lists readers: probing vpcd's port would insert a card."""
    try:
        from smartcard.System import readers

        names = [str(reader) for reader in readers()]
    except Exception as exc:
        return f"PC/SC unavailable: {exc!r}"
    if VPCD_READER_NAME not in names:
        return f"pcscd runs without the vpcd reader {VPCD_READER_NAME!r} (readers: {names})"
    return None


@pytest.fixture
def served_card(card_path: Path) -> Iterator[Path]:
    problem = pcsc_problem()
    if problem is not None:
        if os.environ.get("ANCHORID_PCSC_AVAILABLE") == "1":
            pytest.fail(f"ANCHORID_PCSC_AVAILABLE=1 but {problem}")
        pytest.skip(f"{problem}; scripts/test starts pcscd (scripts/pcsc-env)")
    stop, connected, failures = threading.Event(), threading.Event(), []

    def serve() -> None:
        try:
            serve_card(card_path, port=VPCD_DEFAULT_PORT, stop=stop, connected=connected)
        except Exception as exc:
            failures.append(exc)
            connected.set()

    thread = threading.Thread(target=serve, name="virtual-card", daemon=True)
    thread.start()
    assert connected.wait(CARD_INSERTION_TIMEOUT), "the virtual card did not connect to vpcd"
    assert not failures, failures
    try:
        yield card_path
    finally:
        stop.set()
        thread.join(CARD_INSERTION_TIMEOUT)


def open_reader() -> PcscTransport:
    """pcscd notices the inserted card on its next poll: retry until the reader holds it."""
    deadline = time.monotonic() + CARD_INSERTION_TIMEOUT
    while True:
        try:
            return PcscTransport(VPCD_READER_NAME)
        except CardNotPresent:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_it_reads_verifies_and_signs_through_pcscd_vpcd_and_pyscard(served_card: Path, card_secrets) -> None:
    stored = CardFile.load(served_card)
    with JPKICard(open_reader()) as card:
        assert card.transport.atr.hex().upper() == "3BE000FF8131FE4514"
        assert card.status().token_label == "JPKIAPICCTOKEN2"
        assert card.read_auth_certificate() == stored.certificate(KeySlot.AUTHENTICATION)
        signature_certificate = card.read_signature_certificate(card_secrets.signature_pin)
        assert signature_certificate == stored.certificate(KeySlot.SIGNATURE)

        with pytest.raises(WrongPin) as caught:
            card.verify_signature_pin("WRONG1")
        assert caught.value.tries_left == 4
        card.verify_signature_pin(card_secrets.signature_pin)

        signature = card.sign(b"onboarding challenge", pin=card_secrets.signature_pin)
        signature_certificate.public_key().verify(
            signature, b"onboarding challenge", padding.PKCS1v15(), hashes.SHA256()
        )
        assert card.read_basic_four(card_secrets.text_ap_pin) == card_secrets.info
    assert CardFile.load(served_card).pin_tries_left(PinReference.SIGNATURE) == 5
