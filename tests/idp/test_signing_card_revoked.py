"""Must-show: a PDF signed with the card stays valid-at-signing-time after the resident moves (J-LIS revokes the
signature certificate, affiliationChanged), checked from the document's own data with jlis — and the idp —
stopped.

Time travel without sleeping: the verifier's "now" is a parameter (``verify_pdf(..., at=...)``, which becomes
pyHanko's ``ValidationTimingInfo.validation_time``; ``anchorid sign verify --at``), set to a day after signing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from anchorid.jpki.cardfile import CardFile, KeySlot
from anchorid.jpki.profiles import CertKind
from anchorid.jpki.trust import TrustAnchors
from anchorid.jpki.verify import OcspResponder, ValidationFailure, validate_certificate
from anchorid.signing.verify import verify_pdf

from .signing_support import World, make_pdf, start_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from start_world(tmp_path_factory.mktemp("signing-revoked"), anchored_cards=(0,))


def test_it_a_card_signature_survives_the_move_and_jlis_going_away(world: World, tmp_path: Path) -> None:
    card = world.adult(0)
    document = make_pdf(tmp_path / "application.pdf")
    signed = tmp_path / "application-signed.pdf"
    done = world.cli(
        "sign", "pdf", "--in", str(document), "--out", str(signed), "--card", card["card_file"], "--pin-stdin",
        "--idp", world.idp_url, stdin=card["signature_pin"] + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    trust = world.trust_pem()
    roots = x509.load_pem_x509_certificates(trust.read_bytes())

    # The move: J-LIS revokes the signature certificate; an online check now says so.
    world.jlis("move", "--resident", str(card["resident_id"]), "--address", "神奈川県鎌倉市雪ノ下三丁目５番１号")
    certificate = CardFile.load(Path(card["card_file"])).certificate(KeySlot.SIGNATURE)
    assert certificate is not None
    online = validate_certificate(
        certificate,
        TrustAnchors.from_pem_files(world.jlis_data / "pem" / "sign-ca.pem", world.jlis_data / "pem" / "auth-ca.pem"),
        CertKind.SIGNATURE,
        revocation=OcspResponder(f"{world.jlis_url}/ocsp/sign"),
    )
    assert online.failure is ValidationFailure.REVOKED
    assert online.revocation_reason == x509.ReasonFlags.affiliation_changed

    # jlis and the idp stop: only the document and the trust roots are left.
    world.stop_jlis()
    world.processes.pop("idp").terminate()

    a_day_later = datetime.now(UTC) + timedelta(days=1)
    with signed.open("rb") as stream:
        report = verify_pdf(stream, roots, at=a_day_later)
    (signature,) = report.signatures
    assert report.ok
    assert signature.intact
    assert signature.valid_at_signing_time, signature.message
    assert signature.level == "B-LTA"
    assert signature.signer.kind == "jpki"
    assert signature.signer.name
    assert signature.signing_time is not None
    assert signature.signing_time < online.revocation_time.replace(tzinfo=UTC) + timedelta(seconds=1)  # type: ignore[union-attr]

    # The CLI says the same, offline, with the roots from a file.
    shown = world.cli("sign", "verify", str(signed), "--trust", str(trust), "--at", a_day_later.isoformat(), "--json")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert json.loads(shown.stdout)["signatures"][0]["valid_at_signing_time"] is True
