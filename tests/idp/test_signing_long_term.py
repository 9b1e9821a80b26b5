"""Must-show (issue #11 §6): a PAdES B-LTA file stays verifiable offline for as long as docs/signing.md claims,
and the idp's archive renewal job carries archived files further. ``pyhanko sign adesverify`` and
``anchorid sign verify`` (both as command lines, offline, validation time moved with ``--validation-time`` /
``--at``) must give the same verdict at +100 days, +2 years, +9 years and past the TSA certificate's end.

Real components: the session's jlis (card certificate, J-LIS OCSP and CRL), a seeded virtual card, the idp's CA and
TSA in this test's database, pyHanko's CLI. The clock is moved by passing explicit times (the renewal job's work
and the TSA stamp at that time; the root re-signs its CRL and the TSA is rotated at that time), never by sleeping.
The CA publishes at http://testserver, which nothing answers: the verifiers have the files' own data only.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pytest_django.fixtures import Settings

from anchorid.common.pki.certificates import crl_distribution_point
from anchorid.idp.deviceca.authority import platform_certificate, resign_root_crl
from anchorid.idp.deviceca.keys import ca_keystore
from anchorid.idp.deviceca.models import PlatformCertificate
from anchorid.idp.deviceca.profile import ROOT_CRL_PATH
from anchorid.idp.lifecycle.jobs import run_job
from anchorid.idp.signing import archive
from anchorid.idp.signing.service import LocalTimeStamper, card_material
from anchorid.idp.signing.validation_data import trust_roots
from anchorid.idp.tsa.authority import TSA_CRL_MARGIN, init_tsa
from anchorid.idp.tsa.models import TsaCertificate
from anchorid.jpki.client import JPKICard
from anchorid.jpki.transport import EmulatorTransport
from anchorid.signing import documents, pdf
from anchorid.signing.horizon import offline_horizon
from anchorid.signing.signers import CardSigner

from .conftest import JlisServer
from .signing_support import make_pdf, start_world

YEAR = timedelta(days=365)


@pytest.fixture
def platform(
    use_jlis: JlisServer, device_ca: Any, card_certificate: Callable[[str], x509.Certificate], tmp_path: Path
) -> dict[str, Any]:
    tsa = init_tsa(ca_keystore())
    trust = tmp_path / "trust.pem"
    trust.write_bytes(b"".join(root.public_bytes(serialization.Encoding.PEM) for root in trust_roots()))
    card = use_jlis.card(0)
    return {"card": card, "certificate": card_certificate(card["card_file"]), "trust": trust, "tsa": tsa}


def sign(platform: dict[str, Any], target: Path) -> Path:
    """PAdES B-LTA with the card's signature key, now, as the portal does it (in-process TSA, J-LIS data)."""
    source = make_pdf(target.with_suffix(".unsigned.pdf"))
    certificate = platform["certificate"]
    material = card_material(certificate)
    stamper = LocalTimeStamper()
    card_file = platform["card"]["card_file"]
    with JPKICard(EmulatorTransport(card_file)) as card, source.open("rb") as stream, target.open("wb") as output:
        signer = CardSigner(card, platform["card"]["signature_pin"], certificate, material.chain)
        pdf.sign_pdf(stream, output, signer, stamper=stamper, context=material.context)
    return target


def _env() -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    return {**environment, "TZ": "UTC"}


def _at_clock(at: datetime) -> list[str]:
    """Run a verifier with the machine's clock at ``at`` (libfaketime), as a verifier then would. Needed besides
    the validation time options: pyHanko's past validation (``_build_and_past_validate_cert``) starts the ETSI
    time slide at the clock, not at the validation time it was given."""
    faketime = shutil.which("faketime")
    assert faketime, "faketime is missing: scripts/bootstrap --test installs it"
    return [faketime, at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")]


def verdicts(path: Path, trust: Path, at: datetime) -> bool:
    """Both offline verifiers at validation time ``at`` (and clock at ``at``); they must agree. True: both accept."""
    pyhanko = subprocess.run(
        [*_at_clock(at), Path(sys.executable).parent / "pyhanko", "sign", "adesverify", "--pretty-print",
         "--trust", trust, "--trust-replace", "--validation-time", at.isoformat(), path],
        capture_output=True, text=True, env=_env(),
    )  # fmt: skip
    ours = subprocess.run(
        [*_at_clock(at), sys.executable, "-m", "anchorid.cli", "sign", "verify", str(path), "--trust", str(trust),
         "--at", at.isoformat(), "--json"],
        capture_output=True, text=True, env=_env(),
    )  # fmt: skip
    assert ours.returncode in (0, 1), ours.stderr
    pyhanko_accepts = pyhanko.returncode == 0 and "The signature is judged VALID." in pyhanko.stdout
    ours_accepts = ours.returncode == 0 and json.loads(ours.stdout)["ok"] is True
    assert pyhanko_accepts == ours_accepts, (
        f"at {at}: pyhanko {'accepts' if pyhanko_accepts else 'refuses'}, anchorid "
        f"{'accepts' if ours_accepts else 'refuses'}\n{pyhanko.stdout}{pyhanko.stderr}\n{ours.stdout}{ours.stderr}"
    )
    return ours_accepts


def timestamps(path: Path) -> int:
    with path.open("rb") as stream:
        return len(list(documents.open_pdf(stream).embedded_timestamp_signatures))


def horizon_of(path: Path) -> datetime | None:
    with path.open("rb") as stream:
        return offline_horizon(documents.open_pdf(stream)).until


def test_it_a_signed_pdf_verifies_offline_until_its_tsa_certificate_ends(
    platform: dict[str, Any], tmp_path: Path
) -> None:
    signed = sign(platform, tmp_path / "application.pdf")
    now = datetime.now(UTC)
    # The claim (docs/signing.md): offline, from the file alone, until a day before the newest timestamp's TSA
    # certificate ends (its CRL's nextUpdate), which is what `anchorid sign verify` reports.
    horizon = horizon_of(signed)
    assert horizon == platform["tsa"].not_valid_after_utc - TSA_CRL_MARGIN
    assert horizon > now + 9 * YEAR
    for later in (timedelta(days=100), 2 * YEAR, 9 * YEAR):
        assert verdicts(signed, platform["trust"], now + later), f"refused at +{later.days} days"
    assert verdicts(signed, platform["trust"], horizon - timedelta(hours=1))
    # And not beyond: past the horizon both refuse (the file needed renewal by then).
    assert not verdicts(signed, platform["trust"], horizon + timedelta(hours=1))


def legacy_tsa(now: datetime) -> None:
    """Make current a TSA certificate as issued before this change: no CRL of its own, its cRLDistributionPoint the
    root CRL — whose nextUpdate was 90 days on. Every PDF signed before the change carries that 90-day CRL."""
    store = ca_keystore()
    root_row = platform_certificate(PlatformCertificate.Role.ROOT)
    root = x509.load_der_x509_certificate(bytes(root_row.der))
    key_name = f"tsa-legacy-{secrets.token_hex(4)}"
    public_key = store.create_key(key_name, "EC-P256")
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AnchorID Time Stamping Authority 1")]))
        .issuer_name(root.subject)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + 10 * YEAR)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root.public_key()), critical=False)  # type: ignore[arg-type]
        .add_extension(
            crl_distribution_point(x509.UniformResourceIdentifier(root_row.base_url + ROOT_CRL_PATH)), critical=False
        )
    )
    certificate = builder.sign(store.signer(root_row.key_name), hashes.SHA256())
    TsaCertificate.objects.filter(current=True).update(current=False)
    TsaCertificate.objects.create(
        key_name=key_name,
        der=certificate.public_bytes(serialization.Encoding.DER),
        serial=f"{certificate.serial_number:x}",
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
    )
    resign_root_crl(store, now=now, next_update=now + timedelta(days=90))


def renew(now: datetime) -> Any:
    result = run_job(archive.JOB, archive.renewal_work(now=now), force=True, interval=archive.renewal_interval())
    assert result is not None
    return result


def test_it_the_renewal_job_keeps_archived_pdfs_verifiable_past_every_horizon(
    platform: dict[str, Any], tmp_path: Path, settings: Settings
) -> None:
    store = ca_keystore()
    start = datetime.now(UTC)
    # A file signed before this change (its TSA's status: the 90-day root CRL), then one signed after it.
    legacy_tsa(start)
    old = sign(platform, tmp_path / "old.pdf")
    init_tsa(store, rotate=True)
    new = sign(platform, tmp_path / "new.pdf")
    folder = tmp_path / "archive"
    (folder / "2026").mkdir(parents=True)
    archived_old, archived_new = folder / "2026" / "old.pdf", folder / "new.pdf"
    shutil.copy(old, archived_old)
    shutil.copy(new, archived_new)
    settings.ANCHORID_SIGNING_ARCHIVE_DIR = str(folder)
    trust = platform["trust"]

    # +30 days: the old file's horizon (its root CRL's nextUpdate) is near; the job renews it, and only it.
    result = renew(start + timedelta(days=30))
    assert result.ok, result.error
    assert result.value["renewed"] == 1
    assert (timestamps(archived_old), timestamps(archived_new)) == (timestamps(old) + 1, timestamps(new))
    for later in (timedelta(days=100), 2 * YEAR, 9 * YEAR):
        assert verdicts(archived_old, trust, start + later), f"the renewed file is refused at +{later.days} days"
        assert not verdicts(old, trust, start + later), f"the unrenewed old file is accepted at +{later.days} days"

    # +9 years: both files' horizon (the TSA certificate's end) is within the margin, but the current TSA
    # certificate ends then too: the job renews nothing (no useless timestamps) and fails, saying what to do.
    nine_years = start + 9 * YEAR
    result = renew(nine_years)
    assert not result.ok
    assert "rotate the TSA" in result.error
    assert timestamps(archived_new) == timestamps(new)
    # The TSA is rotated (which re-signs the root CRL to the new certificate's end); the next run renews both.
    init_tsa(store, rotate=True, now=nine_years)
    result = renew(nine_years + timedelta(days=1))
    assert result.ok, result.error
    assert result.value["renewed"] == 2
    eleven_years = start + 11 * YEAR
    for renewed, unrenewed in ((archived_old, old), (archived_new, new)):
        horizon = horizon_of(renewed)
        assert horizon is not None
        assert horizon > eleven_years
        assert verdicts(renewed, trust, eleven_years)
        assert not verdicts(unrenewed, trust, eleven_years)
    # A further run changes nothing: files are renewed only when their horizon is near.
    sizes = (archived_old.stat().st_size, archived_new.stat().st_size)
    result = renew(nine_years + timedelta(days=2))
    assert result.ok, result.error
    assert result.value["renewed"] == 0
    assert (archived_old.stat().st_size, archived_new.stat().st_size) == sizes


def test_it_anchorid_serve_idp_renews_the_archive_on_its_own(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The job runs in ``anchorid serve idp``'s worker child: nobody calls it. A file whose horizon a renewal
    can move (the TSA was rotated after it was signed) gets one new timestamp, and only one."""
    tmp = tmp_path_factory.mktemp("signing-archive-serve")
    folder = tmp / "archive"
    folder.mkdir()
    settings = {
        "ANCHORID_SIGNING_ARCHIVE_DIR": str(folder),
        "ANCHORID_SIGNING_RENEWAL_INTERVAL": "1",
        "ANCHORID_SIGNING_RENEW_BEFORE_DAYS": "4000",  # longer than any horizon: every file is due
    }
    for world in start_world(tmp, anchored_cards=(0,), idp_env=settings):
        card = world.adult(0)
        signed = tmp / "signed.pdf"
        done = world.cli(
            "sign", "pdf", "--in", str(make_pdf(tmp / "application.pdf")), "--out", str(signed),
            "--card", card["card_file"], "--pin-stdin", "--idp", world.idp_url, stdin=card["signature_pin"] + "\n",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        before = horizon_of(signed)
        assert before is not None
        rotated = world.cli("idp", "tsa", "init", "--data", str(world.idp_data), "--rotate")
        assert rotated.returncode == 0, rotated.stderr
        archived = folder / "signed.pdf"
        shutil.copy(signed, folder / ".incoming.pdf")  # hidden files are not archive files
        (folder / ".incoming.pdf").replace(archived)
        deadline = time.monotonic() + 90
        while timestamps(archived) == timestamps(signed) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert timestamps(archived) == timestamps(signed) + 1, "the idp did not renew the archived file"
        after = horizon_of(archived)
        assert after is not None
        assert after > before
        size = archived.stat().st_size
        time.sleep(4)  # several more runs: the file is not renewed again (a renewal now would not move it)
        assert archived.stat().st_size == size
        shown = world.cli("sign", "verify", str(archived), "--trust", str(world.trust_pem()), "--json")
        assert shown.returncode == 0, shown.stdout + shown.stderr
        assert json.loads(shown.stdout)["offline_until"] == after.isoformat()
