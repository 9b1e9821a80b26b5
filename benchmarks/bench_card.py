"""Card sign + verify round trips per second through the emulator, next to openssl's own RSA-2048 figures.

    .venv/bin/python benchmarks/bench_card.py [--seconds 3] [--repeats 5]

One round trip = the client's VERIFY of the signature PIN, COMPUTE DIGITAL SIGNATURE over a SHA-256
DigestInfo (the APDUs go through the emulator, which persists the PIN counter to the card file), and the
verifier checking the RSA signature with the certificate read from the card. ``openssl speed rsa2048`` in the
same run is the ceiling: the card's work is one RSA-2048 private-key operation per signature.
"""

from __future__ import annotations

import argparse
import datetime
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from anchorid.jpki.attributes import BasicFourInfo, Gender
from anchorid.jpki.cardfile import CardFile, KeySlot
from anchorid.jpki.client import JPKICard
from anchorid.jpki.profiles import CertKind, build_auth_certificate, build_ca_certificate, build_signature_certificate
from anchorid.jpki.transport import EmulatorTransport
from anchorid.jpki.verify import verify_signature
from common import machine, median_rate, openssl_rsa2048, today

SIGN_PIN = "ABC123"
AUTH_PIN = "1234"


def make_card(folder: Path) -> Path:
    now = datetime.datetime.now(datetime.UTC)
    later = now + datetime.timedelta(days=365)
    cas = {}
    for kind in CertKind:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cas[kind] = (build_ca_certificate(kind, key, serial=1, not_before=now, not_after=later), key)
    path = folder / "bench.card"
    card = CardFile.manufacture(path)
    info = BasicFourInfo.plain(
        "鎌倉\u3000太郎", datetime.date(1980, 4, 1), Gender.MALE, "神奈川県鎌倉市御成町１８－１０"
    )
    sign_ca, sign_key = cas[CertKind.SIGNATURE]
    auth_ca, auth_key = cas[CertKind.AUTHENTICATION]
    sign_cert = build_signature_certificate(
        ca_certificate=sign_ca,
        ca_key=sign_key,
        public_key=card.public_key(KeySlot.SIGNATURE),
        info=info,
        serial=2,
        not_before=now,
        not_after=later,
        locality="Kamakura-shi",
    )
    auth_cert = build_auth_certificate(
        ca_certificate=auth_ca,
        ca_key=auth_key,
        public_key=card.public_key(KeySlot.AUTHENTICATION),
        subject_cn="BENCH0000000000000000000",
        serial=3,
        not_before=now,
        not_after=later,
    )
    card.personalize(
        signature_certificate=sign_cert,
        signature_ca=sign_ca,
        authentication_certificate=auth_cert,
        authentication_ca=auth_ca,
        signature_pin=SIGN_PIN,
        authentication_pin=AUTH_PIN,
    )
    card.save()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    def measure(folder: str | None) -> tuple[float, list[float]]:
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            path = make_card(Path(tmp))
            card = JPKICard(EmulatorTransport(path))
            certificate: x509.Certificate = card.read_signature_certificate(SIGN_PIN)
            message = b"challenge " * 8

            def round_trips() -> int:
                count = 0
                deadline = time.perf_counter() + args.seconds
                while time.perf_counter() < deadline:
                    signature = card.sign(message, pin=SIGN_PIN)
                    verify_signature(certificate, message, signature)
                    count += 1
                return count

            return median_rate(round_trips, args.repeats)

    # The card file on disk (every VERIFY writes the retry counter durably: fsync + rename, twice), and on
    # tmpfs, where the same writes cost no disk flush: the difference is the price of a durable counter.
    disk_rate, disk_rates = measure(None)
    shm = "/dev/shm" if Path("/dev/shm").is_dir() else None
    shm_rate, shm_rates = measure(shm)
    sign_rate, verify_rate = openssl_rsa2048(seconds=int(args.seconds))

    def runs(rates: list[float]) -> str:
        return ", ".join(f"{r:.0f}" for r in rates)

    print(f"# card sign+verify via the emulator — {today()} — {machine()}")
    print(f"emulator round trips/s, card file on disk:  median {disk_rate:.0f} (runs: {runs(disk_rates)})")
    print(f"emulator round trips/s, card file on tmpfs: median {shm_rate:.0f} (runs: {runs(shm_rates)})")
    print(f"openssl speed rsa2048:  sign {sign_rate:.0f}/s, verify {verify_rate:.0f}/s (one core)")
    print(f"ratio emulator (tmpfs) / openssl sign: {shm_rate / sign_rate:.2f}; (disk): {disk_rate / sign_rate:.2f}")


if __name__ == "__main__":
    main()
