"""``verified_claims`` per OpenID Connect for Identity Assurance 1.0.

§5 (Verified Claims): "verified_claims ... containing ``verification`` (REQUIRED: information about the
verification process) and ``claims`` (REQUIRED: the Claims about the End-User which were verified by the process
and according to the policies determined by the corresponding verification element)". ``verification``
carries ``trust_framework`` (REQUIRED, "a String determining the trust framework governing the identity
verification process"), ``time`` (when the verification took place) and ``evidence`` (a JSON array of what the
verification relied on; an ``electronic_record`` with ``check_details``, ``time`` and ``record``).

What we state, and why:

- ``trust_framework: "jp_jpki"`` — OUR label (the IDA registry has no entry for Japan's Public Personal
  Authentication Service): identity proofed with the My Number Card's JPKI signature certificate under the JPKI Act
  (公的個人認証法). Relying parties should treat it as a private-use value until a registered one exists.
- one ``electronic_record`` evidence: the card's signature certificate (the electronic record), checked by
  ``vcrypt`` (the card's signature over our one-time challenge verified, chain to the J-LIS CA) and ``data``
  (the certificate's revocation status looked up at J-LIS by OCSP); ``time`` is ``Account.attributes_verified_at``.
- when the anchor certificate was revoked and the attributes were not refreshed (``Account.attributes_stale``),
  ``verification`` also carries ``anchorid_stale: {"since": …, "reason": …}`` — an extension member (IDA allows
  additional members; RPs ignore what they do not understand), so the attributes say they may be out of date.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from anchorid.idp.oidc.claims import claim_values
from anchorid.jpki.attributes import BasicFourInfo

TRUST_FRAMEWORK = "jp_jpki"
EVIDENCE_TYPE = "electronic_record"
RECORD_TYPE = "jp_jpki_signature_certificate"
STALE_MEMBER = "anchorid_stale"


def _time(value: datetime | None) -> str | None:
    return value.astimezone().isoformat(timespec="seconds") if value else None


#: A child's attributes (docs/guardians.md): from the resident register through the guardian, not from a card.
VIA_GUARDIAN = {"jlis-register-via-guardian": "register", "city-counter-via-guardian": "counter"}
VIA_GUARDIAN_MEMBER = "anchorid_via_guardian"
REGISTER_RECORD_TYPE = "jp_resident_register"


def verification(
    verified_at: datetime | None, stale_since: datetime | None, stale_reason: str, verified_how: str = ""
) -> dict[str, Any]:
    when = _time(verified_at)
    evidence: dict[str, Any] = {
        "type": EVIDENCE_TYPE,
        "check_details": [
            {"check_method": "vcrypt", "organization": "AnchorID"},
            {"check_method": "data", "organization": "J-LIS"},
        ],
        "record": {"type": RECORD_TYPE, "source": {"name": "J-LIS", "country_code": "JPN"}},
    }
    result: dict[str, Any] = {"trust_framework": TRUST_FRAMEWORK, "evidence": [evidence]}
    if verified_how in VIA_GUARDIAN:
        # The register's attributes, asked for by the guardian with their card (or checked at the city counter):
        # the child's card carries none. Said in the evidence and in an extension member RPs can test.
        source = {
            "name": "J-LIS" if VIA_GUARDIAN[verified_how] == "register" else "municipality",
            "country_code": "JPN",
        }
        evidence["record"] = {"type": REGISTER_RECORD_TYPE, "source": source}
        evidence["check_details"] = [{"check_method": "data", "organization": source["name"]}]
        result[VIA_GUARDIAN_MEMBER] = {"confirmed_by": VIA_GUARDIAN[verified_how]}
    if when:
        result["time"] = when
        evidence["time"] = when
    if stale_since is not None:
        result[STALE_MEMBER] = {"since": _time(stale_since), "reason": stale_reason or "unspecified"}
    return result


def verified_claims(
    info: BasicFourInfo,
    names: set[str] | list[str],
    *,
    verified_at: datetime | None,
    stale_since: datetime | None = None,
    stale_reason: str = "",
    verified_how: str = "",
) -> dict[str, Any] | None:
    """The ``verified_claims`` object for the granted ``names`` (None when none of them is granted)."""
    values = claim_values(info, names)
    if not values:
        return None
    return {"verification": verification(verified_at, stale_since, stale_reason, verified_how), "claims": values}
