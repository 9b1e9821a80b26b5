"""Which JPKI roots a verifier trusts, per hierarchy (jpki-reference.md §1.1).

The two hierarchies are separate: a signature certificate must chain to a 署名用 root and an authentication
certificate to a 利用者証明用 root, never the other way round. Every generation of a hierarchy shares one DN, so
an anchor set holds all generations a verifier accepts and the issuer is picked by signature, not by name.

Production trusts the real roots packaged in ``anchorid/jpki/roots/`` (``TrustAnchors.real_jpki()``); the
simulated J-LIS uses its own CAs (``TrustAnchors.from_pem_files(...)``). A deployment selects one with a single
setting: :meth:`TrustAnchors.from_setting` (``"real"`` or a list of PEM paths).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from cryptography import x509

from anchorid.jpki.certificates import parse_ca_certificate
from anchorid.jpki.profiles import CertKind

#: Setting value that selects the real J-LIS roots packaged with AnchorID.
REAL_JPKI_ROOTS = "real"
#: File names of the packaged real roots (``anchorid/jpki/roots/``), all generations we ship.
REAL_ROOT_FILES: tuple[str, ...] = ("sign_ca_2015.pem", "sign_ca_2023.pem", "auth_ca_2015.pem", "auth_ca_2023.pem")


class TrustConfigurationError(ValueError):
    """The trust configuration is unusable: a file is missing, not a JPKI root, or a hierarchy is empty."""


@dataclass(frozen=True, slots=True)
class TrustAnchors:
    """The trusted roots of each hierarchy. Build with the class methods; each certificate is profile-checked."""

    signature: tuple[x509.Certificate, ...]
    authentication: tuple[x509.Certificate, ...]

    def __post_init__(self) -> None:
        for kind, certificates in (
            (CertKind.SIGNATURE, self.signature),
            (CertKind.AUTHENTICATION, self.authentication),
        ):
            for certificate in certificates:
                if parse_ca_certificate(certificate).kind is not kind:
                    raise TrustConfigurationError(f"a root of the wrong hierarchy was listed as {kind.value}")

    def for_kind(self, kind: CertKind) -> tuple[x509.Certificate, ...]:
        """The roots a certificate of ``kind`` must chain to."""
        return self.signature if kind is CertKind.SIGNATURE else self.authentication

    @classmethod
    def from_certificates(cls, certificates: Iterable[x509.Certificate]) -> TrustAnchors:
        """Sort roots into their hierarchy by their DN; each must pass the CA profile (``ProfileViolation``)."""
        by_kind: dict[CertKind, list[x509.Certificate]] = {kind: [] for kind in CertKind}
        for certificate in certificates:
            parsed = parse_ca_certificate(certificate)
            if certificate not in by_kind[parsed.kind]:
                by_kind[parsed.kind].append(certificate)
        return cls(signature=tuple(by_kind[CertKind.SIGNATURE]), authentication=tuple(by_kind[CertKind.AUTHENTICATION]))

    @classmethod
    def from_pem_files(cls, *paths: str | Path) -> TrustAnchors:
        """Roots from PEM files (one or more certificates per file)."""
        certificates: list[x509.Certificate] = []
        for path in paths:
            try:
                data = Path(path).read_bytes()
            except OSError as error:
                raise TrustConfigurationError(f"cannot read trust anchor file {path}: {error}") from None
            try:
                certificates.extend(x509.load_pem_x509_certificates(data))
            except ValueError as error:
                raise TrustConfigurationError(f"{path} holds no PEM certificate: {error}") from None
        return cls.from_certificates(certificates)

    @classmethod
    def real_jpki(cls) -> TrustAnchors:
        """The real J-LIS roots packaged in ``anchorid/jpki/roots/`` (generations 2015 and 2023)."""
        package = resources.files("anchorid.jpki.roots")
        certificates = [x509.load_pem_x509_certificate(package.joinpath(name).read_bytes()) for name in REAL_ROOT_FILES]
        return cls.from_certificates(certificates)

    @classmethod
    def from_setting(cls, setting: str | Sequence[str | Path]) -> TrustAnchors:
        """``"real"`` for the packaged J-LIS roots, otherwise PEM file paths; both hierarchies must be non-empty."""
        anchors = (
            cls.real_jpki()
            if setting == REAL_JPKI_ROOTS
            else cls.from_pem_files(*([setting] if isinstance(setting, str) else setting))
        )
        if not anchors.signature or not anchors.authentication:
            raise TrustConfigurationError("the trust configuration must name roots for both hierarchies")
        return anchors
