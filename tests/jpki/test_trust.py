"""Trust anchors: the packaged real roots are the published ones; configurations select real or simulated roots."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from anchorid.jpki.certificates import ProfileViolation
from anchorid.jpki.profiles import CertKind
from anchorid.jpki.trust import REAL_ROOT_FILES, TrustAnchors, TrustConfigurationError

# J-LIS publishes these in sign_fingerprint.pdf / auth_fingerprint.pdf (jpki-reference.md §1.1).
PUBLISHED_SHA256 = {
    "sign_ca_2015.pem": "19645405A1FE14377434BD55957628AC4038557C542403A2243F21C706FC9355",
    "sign_ca_2023.pem": "D227F6CDE11D35C5252178F106F843D24651944975413B539FA2FB68DBFA365F",
    "auth_ca_2015.pem": "4DCFC4CA0AAF9FB2A3081B3F0C991C320B3ACC008667A341EEAEC5AF1D58CA7D",
    "auth_ca_2023.pem": "64114F29620C24ED2631D46476A040E7EE740D956089C00B036A6A8118C322B5",
}


@pytest.mark.parametrize("file", REAL_ROOT_FILES)
def test_it_ships_the_real_roots_with_their_published_fingerprints(file: str) -> None:
    root = x509.load_pem_x509_certificate(resources.files("anchorid.jpki.roots").joinpath(file).read_bytes())
    assert hashlib.sha256(root.public_bytes(serialization.Encoding.DER)).hexdigest().upper() == PUBLISHED_SHA256[file]


def test_it_lists_the_fingerprints_in_the_roots_readme() -> None:
    readme = resources.files("anchorid.jpki.roots").joinpath("README.md").read_text(encoding="utf-8")
    for fingerprint in PUBLISHED_SHA256.values():
        assert ":".join(fingerprint[i : i + 2] for i in range(0, 64, 2)) in readme


def test_it_sorts_the_real_roots_into_their_hierarchies() -> None:
    anchors = TrustAnchors.real_jpki()
    assert len(anchors.signature) == 2
    assert len(anchors.authentication) == 2
    assert all("digital signature" in root.subject.rfc4514_string() for root in anchors.for_kind(CertKind.SIGNATURE))


def test_it_selects_the_real_roots_by_setting() -> None:
    assert TrustAnchors.from_setting("real") == TrustAnchors.real_jpki()


def test_it_loads_simulated_roots_from_pem_files(pki, tmp_path: Path) -> None:
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (pki.signature_ca, pki.auth_ca)))
    anchors = TrustAnchors.from_setting([bundle])
    assert anchors.signature == (pki.signature_ca,)
    assert anchors.authentication == (pki.auth_ca,)


def test_it_rejects_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TrustConfigurationError, match="cannot read"):
        TrustAnchors.from_pem_files(tmp_path / "absent.pem")


def test_it_rejects_a_file_without_certificates(tmp_path: Path) -> None:
    path = tmp_path / "junk.pem"
    path.write_text("hello")
    with pytest.raises(TrustConfigurationError, match="no PEM certificate"):
        TrustAnchors.from_pem_files(path)


def test_it_rejects_a_configuration_missing_a_hierarchy(pki, tmp_path: Path) -> None:
    path = tmp_path / "sign.pem"
    path.write_bytes(pki.signature_ca.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(TrustConfigurationError, match="both hierarchies"):
        TrustAnchors.from_setting(str(path))


def test_it_rejects_an_end_entity_certificate_as_a_root(pki) -> None:
    with pytest.raises(ProfileViolation):
        TrustAnchors.from_certificates([pki.signature_certificate])


def test_it_rejects_a_root_listed_under_the_wrong_hierarchy(pki) -> None:
    with pytest.raises(TrustConfigurationError, match="wrong hierarchy"):
        TrustAnchors(signature=(pki.auth_ca,), authentication=())


def test_it_ignores_a_root_listed_twice(pki) -> None:
    anchors = TrustAnchors.from_certificates([pki.signature_ca, pki.signature_ca, pki.auth_ca])
    assert anchors.signature == (pki.signature_ca,)
