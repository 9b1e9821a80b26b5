"""How claims read on the consent screen and in self-service (translated; names only, never values)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from anchorid.idp.oidc.claims import RequestedClaims


def claim_labels() -> dict[str, str]:
    return {
        "name": _("Name"),
        "gender": _("Gender"),
        "birthdate": _("Date of birth"),
        "address": _("Address"),
        "age_over_15": _("Whether you are 15 or older (not your date of birth)"),
        "age_over_18": _("Whether you are 18 or older (not your date of birth)"),
        "age_over_65": _("Whether you are 65 or older (not your date of birth)"),
        "resident_of": _("The municipality you live in (its code)"),
        "verified_claims": _("That this information was verified with your My Number Card, and when"),
    }


def claim_label(claim: str) -> str:
    return claim_labels().get(claim, claim)


@dataclass(frozen=True, slots=True)
class ClaimRow:
    claim: str
    label: str
    essential: bool
    checked: bool


def claim_rows(requested: RequestedClaims, known: dict[str, bool]) -> list[ClaimRow]:
    """Essential claims first (they cannot be deselected), then optional ones (ticked unless declined before)."""
    labels = claim_labels()
    order = list(labels)
    rows = [
        ClaimRow(claim, labels.get(claim, claim), essential, essential or known.get(claim, True))
        for claim, essential in requested.essential.items()
    ]
    return sorted(rows, key=lambda r: (not r.essential, order.index(r.claim) if r.claim in order else len(order)))
