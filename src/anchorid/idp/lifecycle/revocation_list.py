"""jlis's signature CRL, checked before the sweep believes a word of it (RFC 5280 §6.3, done once per sweep).

:func:`load_revocation_list` parses the DER once with cryptography and refuses -- raising :class:`CrlRejected`,
so the sweep fails and changes nothing -- a CRL that:

- does not parse (garbage, truncated);
- is not signed by one of the trusted JPKI signature roots (``jlis_client.trust_anchors().signature``), matched by
  issuer name *and* verified signature;
- is stale (nextUpdate passed, beyond a small clock skew), has no nextUpdate, or claims a thisUpdate in the future;
- is a delta CRL, is scoped (issuingDistributionPoint limits) or carries an unknown critical extension;
- rolls back: its cRLNumber is lower than the highest one a successful sweep already used.

What the sweep then needs is a set of revoked serials as decimal strings (how ``AnchorCertificate.serial`` stores
them, so no per-row conversion) and, only for the few anchors that match, each entry's reason and date.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from anchorid.jpki.verify import CrlScopeError, full_crl_number

#: Tolerated clock difference between jlis and the idp.
CLOCK_SKEW = timedelta(minutes=5)
#: The reason recorded when an entry carries no reasonCode (RFC 5280: absent means unspecified).
UNSPECIFIED = "unspecified"


class CrlRejected(ValueError):
    """The CRL cannot be trusted; the message says why (no personal data: CRLs carry serials only)."""


@dataclass(frozen=True, slots=True)
class Revocation:
    reason: str
    revoked_at: datetime


@dataclass(slots=True)
class RevocationList:
    """A verified CRL: who signed it, its number and validity, and its entries by decimal serial."""

    issuer_fingerprint: str
    number: int | None
    this_update: datetime
    next_update: datetime
    entries: dict[str, x509.RevokedCertificate] = field(repr=False)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, serial: object) -> bool:
        return serial in self.entries

    def revocation(self, serial: str) -> Revocation:
        """Reason (RFC 5280 CRLReason name, e.g. ``affiliationChanged``) and date of one listed serial."""
        entry = self.entries[serial]
        try:
            flag: x509.ReasonFlags | None = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        except (x509.ExtensionNotFound, ValueError):
            flag = None
        return Revocation(reason=reason_name(flag), revoked_at=entry.revocation_date_utc)


#: RFC 5280 §5.3.1 names (what jlis, OCSP and the audit log use) for cryptography's flags.
_REASON_NAMES = {
    x509.ReasonFlags.unspecified: UNSPECIFIED,
    x509.ReasonFlags.key_compromise: "keyCompromise",
    x509.ReasonFlags.ca_compromise: "cACompromise",
    x509.ReasonFlags.affiliation_changed: "affiliationChanged",
    x509.ReasonFlags.superseded: "superseded",
    x509.ReasonFlags.cessation_of_operation: "cessationOfOperation",
    x509.ReasonFlags.certificate_hold: "certificateHold",
    x509.ReasonFlags.privilege_withdrawn: "privilegeWithdrawn",
    x509.ReasonFlags.aa_compromise: "aACompromise",
    x509.ReasonFlags.remove_from_crl: "removeFromCRL",
}


def reason_name(flag: x509.ReasonFlags | None) -> str:
    return _REASON_NAMES.get(flag, UNSPECIFIED) if flag is not None else UNSPECIFIED


def _fingerprint(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def _signer(crl: x509.CertificateRevocationList, roots: tuple[x509.Certificate, ...]) -> x509.Certificate:
    for root in roots:
        if root.subject != crl.issuer:
            continue
        key = root.public_key()
        try:
            if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey) and crl.is_signature_valid(key):
                return root
        except (TypeError, ValueError, UnsupportedAlgorithm):
            continue
    raise CrlRejected("the CRL is not signed by a trusted JPKI signature CA")


def _check_extensions(crl: x509.CertificateRevocationList) -> int | None:
    """The CRL's cRLNumber once it is known to be a complete CRL for end-entity certificates (the check the
    certificate validator makes too: ``anchorid.jpki.verify.full_crl_number``)."""
    try:
        return full_crl_number(crl)
    except CrlScopeError as error:
        raise CrlRejected(str(error)) from None


def load_revocation_list(
    der: bytes, roots: tuple[x509.Certificate, ...], *, now: datetime, highest_number_seen: int | None = None
) -> RevocationList:
    """Parse, authenticate and check ``der`` (see the module docstring); :class:`CrlRejected` otherwise."""
    try:
        crl = x509.load_der_x509_crl(der)
    except ValueError:
        raise CrlRejected("jlis served something that is not a DER CRL") from None
    signer = _signer(crl, roots)
    number = _check_extensions(crl)
    this_update, next_update = crl.last_update_utc, crl.next_update_utc
    if this_update > now + CLOCK_SKEW:
        raise CrlRejected(f"the CRL's thisUpdate {this_update.isoformat()} is in the future")
    if next_update is None:
        raise CrlRejected("the CRL has no nextUpdate (RFC 5280 §5.1.2.5)")
    if next_update < now - CLOCK_SKEW:
        raise CrlRejected(f"the CRL is stale: its nextUpdate {next_update.isoformat()} has passed")
    if highest_number_seen is not None and (number is None or number < highest_number_seen):
        raise CrlRejected(f"the CRL's number {number} is older than one already used ({highest_number_seen})")
    try:
        entries = {str(entry.serial_number): entry for entry in crl}
    except ValueError as error:
        raise CrlRejected(f"the CRL's entries do not parse: {error}") from None
    return RevocationList(
        issuer_fingerprint=_fingerprint(signer),
        number=number,
        this_update=this_update,
        next_update=next_update,
        entries=entries,
    )
