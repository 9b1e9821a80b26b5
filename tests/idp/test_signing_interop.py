"""PDFs and detached signatures from ``anchorid sign`` (card and wallet) against independent verifiers — pyHanko's
validator CLI, poppler's ``pdfsig``, ``openssl cms -verify`` — plus archive renewal and bad input: a corrupt PDF,
a broken signature, an encrypted PDF, a 200 MB file (streamed, peak memory measured)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from anchorid.signing import documents
from anchorid.signing.errors import DocumentRefused

from .signing_support import World, make_pdf, start_world

pytestmark = pytest.mark.skipif(
    shutil.which("pdfsig") is None, reason="poppler-utils (pdfsig): scripts/bootstrap --test"
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from start_world(tmp_path_factory.mktemp("signing-interop"))


@pytest.fixture(scope="module")
def signed(world: World) -> dict[str, Path]:
    """One PDF signed with the card (with a visible stamp) and one with the wallet; detached CMS of each kind."""
    folder = world.tmp / "signed"
    folder.mkdir()
    document = make_pdf(folder / "contract.pdf")
    card = world.adult(0)
    wallet = world.wallet(1)
    out = {"document": document}
    for name, key, stdin, extra in (
        ("card", ["--card", card["card_file"], "--pin-stdin"], card["signature_pin"] + "\n", ["--stamp"]),
        ("wallet", ["--wallet", str(wallet)], "", []),
    ):
        out[f"{name}.pdf"] = folder / f"contract-{name}.pdf"
        done = world.cli(
            "sign", "pdf", "--in", str(document), "--out", str(out[f"{name}.pdf"]), *key, "--idp", world.idp_url,
            *extra, stdin=stdin,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        out[f"{name}.p7s"] = folder / f"contract-{name}.p7s"
        done = world.cli(
            "sign", "cms", "--in", str(document), "--out", str(out[f"{name}.p7s"]), *key, "--idp", world.idp_url,
            stdin=stdin,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    return out


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(map(str, args)), capture_output=True, text=True)


@pytest.mark.parametrize("kind", ["card", "wallet"])
def test_it_pyhanko_validator_cli_accepts_our_pdfs(world: World, signed: dict[str, Path], kind: str) -> None:
    pyhanko = Path(sys.executable).parent / "pyhanko"
    trust = world.trust_pem()
    for command in ("validate", "adesverify"):
        extra = ["--soft-revocation-check"] if command == "validate" else []
        done = run(
            pyhanko,
            "sign",
            command,
            "--pretty-print",
            "--trust",
            trust,
            "--trust-replace",
            *extra,
            signed[f"{kind}.pdf"],
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "The signature is judged VALID." in done.stdout


@pytest.mark.parametrize("kind", ["card", "wallet"])
def test_it_pdfsig_accepts_our_pdfs(signed: dict[str, Path], kind: str) -> None:
    done = run("pdfsig", signed[f"{kind}.pdf"])
    assert done.returncode == 0, done.stderr
    assert "Signature Validation: Signature is Valid." in done.stdout
    assert "Signature Type: ETSI.CAdES.detached" in done.stdout


@pytest.mark.parametrize("kind", ["card", "wallet"])
def test_it_openssl_cms_verify_accepts_the_detached_signatures(
    world: World, signed: dict[str, Path], kind: str
) -> None:
    done = run(
        "openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", signed[f"{kind}.p7s"],
        "-content", signed["document"], "-CAfile", world.trust_pem(), "-out", os.devnull,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Verification successful" in done.stderr
    shown = world.cli("sign", "verify", str(signed["document"]), "--signature", str(signed[f"{kind}.p7s"]),
                      "--idp", world.idp_url, "--json")  # fmt: skip
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert json.loads(shown.stdout)["signing_time"]


def test_it_the_verification_api_reports_the_card_signers_attributes(world: World, signed: dict[str, Path]) -> None:
    import requests

    reply = requests.post(
        f"{world.idp_url}/signing/api/verify",
        data=signed["card.pdf"].read_bytes(),
        headers={"Content-Type": "application/pdf"},
        timeout=60,
    )
    assert reply.status_code == 200, reply.text
    report = reply.json()
    assert report["ok"] is True
    (signature,) = report["signatures"]
    assert signature["signer"]["kind"] == "jpki"
    assert signature["signer"]["name"]
    assert signature["level"] == "B-LTA"
    assert signature["valid_at_signing_time"] is True


def test_it_extend_adds_a_document_timestamp_to_every_pdf_in_a_folder(world: World, signed: dict[str, Path]) -> None:
    archive = world.tmp / "archive"
    (archive / "2026").mkdir(parents=True)
    shutil.copy(signed["card.pdf"], archive / "2026" / "a.pdf")
    shutil.copy(signed["wallet.pdf"], archive / "b.pdf")

    def timestamps(path: Path) -> int:
        with path.open("rb") as stream:
            return len(list(PdfFileReader(stream).embedded_timestamp_signatures))

    before = {p: timestamps(p) for p in archive.rglob("*.pdf")}
    done = world.cli("sign", "extend", str(archive), "--idp", world.idp_url)
    assert done.returncode == 0, done.stderr
    for path, count in before.items():
        assert timestamps(path) == count + 1
        shown = world.cli("sign", "verify", str(path), "--idp", world.idp_url, "--json")
        assert json.loads(shown.stdout)["ok"] is True, shown.stdout
    skipped = world.cli("sign", "extend", str(archive), "--idp", world.idp_url, "--within-days", "30")
    assert skipped.returncode == 0
    assert skipped.stdout.count("skipped") == 2


# --- bad input -------------------------------------------------------------------------------------------------


def sign_card(world: World, source: Path, target: Path) -> subprocess.CompletedProcess[str]:
    card = world.adult(0)
    return world.cli(
        "sign", "pdf", "--in", str(source), "--out", str(target), "--card", card["card_file"], "--pin-stdin",
        "--idp", world.idp_url, stdin=card["signature_pin"] + "\n",
    )  # fmt: skip


def test_it_a_corrupt_pdf_is_refused_and_nothing_is_written(world: World, signed: dict[str, Path]) -> None:
    corrupt = world.tmp / "corrupt.pdf"
    data = signed["document"].read_bytes()
    corrupt.write_bytes(data[: len(data) // 2])
    target = world.tmp / "corrupt-signed.pdf"
    done = sign_card(world, corrupt, target)
    assert done.returncode == 1
    assert "corrupt" in done.stderr
    assert not target.exists()
    assert not list(world.tmp.glob(".corrupt-signed.pdf.*"))


def test_it_a_pdf_with_a_broken_signature_is_refused(world: World, signed: dict[str, Path]) -> None:
    data = bytearray(signed["wallet.pdf"].read_bytes())
    position = data.index(b"Application for a residence certificate")
    data[position] = ord("X")  # inside the signed byte range
    broken = world.tmp / "broken.pdf"
    broken.write_bytes(bytes(data))
    done = sign_card(world, broken, world.tmp / "broken-signed.pdf")
    assert done.returncode == 1
    assert "broken_signature" in done.stderr
    report = world.cli("sign", "verify", str(broken), "--idp", world.idp_url, "--json")
    assert report.returncode == 1
    assert json.loads(report.stdout)["signatures"][0]["intact"] is False


def test_it_an_encrypted_pdf_is_refused(world: World, signed: dict[str, Path]) -> None:
    from pyhanko.pdf_utils.crypt import StandardSecurityHandler

    encrypted = world.tmp / "encrypted.pdf"
    with signed["document"].open("rb") as source:
        writer = IncrementalPdfFileWriter(source)
        writer.security_handler = StandardSecurityHandler.build_from_pw("secret")
        writer._encrypt = writer.add_object(writer.security_handler.as_pdf_object())
        out = io.BytesIO()
        writer.write(out)
    encrypted.write_bytes(out.getvalue())
    with pytest.raises(DocumentRefused) as refused, encrypted.open("rb") as stream:
        documents.open_pdf(stream)
    assert refused.value.code in ("encrypted", "corrupt")
    done = sign_card(world, encrypted, world.tmp / "encrypted-signed.pdf")
    assert done.returncode == 1


def test_it_a_200_mb_file_is_refused_as_pdf_and_signed_as_cms_in_bounded_memory(world: World) -> None:
    big = world.tmp / "big.bin"
    with big.open("wb") as out:
        out.write(b"%PDF-1.7\n")
        out.truncate(200 * 1024 * 1024)  # sparse: no 200 MB buffer anywhere
    script = f"""
import sys
from anchorid.signing import documents, cms, pdf
from anchorid.signing.errors import DocumentRefused
from anchorid.signing.signers import key_signer
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography import x509
with open({str(big)!r}, "rb") as stream:
    try:
        documents.open_pdf(stream)
        print("accepted")
    except DocumentRefused as refused:
        print(refused.code)
    key = ec.generate_private_key(ec.SECP256R1())
    import datetime
    from cryptography.hazmat.primitives import hashes
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "test signer")])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256()))
    der = cms.sign_detached(stream, key_signer(key, certificate), stamper=pdf.timestamper({world.idp_url + "/tsa"!r}))
    print(len(der))
# VmHWM is this process's own peak; ru_maxrss is not: Linux carries the spawning process's peak across exec.
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=world.env,
                          cwd=Path(__file__).parents[2])  # fmt: skip
    assert done.returncode == 0, done.stderr
    code, length, peak_kib = done.stdout.split()
    assert code == "too_large"
    assert int(length) > 1000
    # The interpreter with Django, pyHanko and cryptography loaded is ~100 MB; the file is 200 MB.
    assert int(peak_kib) < 180 * 1024, f"peak RSS {int(peak_kib) // 1024} MB"
    big.unlink()
