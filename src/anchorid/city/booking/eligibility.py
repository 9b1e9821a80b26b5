"""What a resident may be eligible for, derived from the claims AnchorID verified at this login (never from a
form the resident fills in): residence (``resident_of`` equal to the city's code) and ``age_over_65``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from anchorid.city.booking import rules


@dataclass(frozen=True)
class Eligibility:
    key: str
    title: str | Promise
    detail: str | Promise
    because: str  # the claim it rests on


def eligibility(claims: dict[str, Any]) -> list[Eligibility]:
    found: list[Eligibility] = []
    if "resident_of" not in claims:
        found.append(
            Eligibility(
                "share_residence",
                _("Resident rates need your municipality"),
                _("You did not share where you live, so you book as a non-resident. Log in again to share it."),
                "resident_of",
            )
        )
        return found
    if rules.is_resident(claims):
        found.append(
            Eligibility(
                "resident_booking",
                _("Resident booking"),
                _("You can book facilities up to two months ahead and pay resident fees."),
                "resident_of",
            )
        )
        if claims.get("age_over_65") is True:
            found.append(
                Eligibility(
                    "senior_courts",
                    _("Senior reduction on sports courts"),
                    _("As a resident aged 65 or older you pay %(percent)s%% less for sports courts.")
                    % {"percent": rules.SENIOR_COURT_REDUCTION_PERCENT},
                    "age_over_65",
                )
            )
    else:
        found.append(
            Eligibility(
                "non_resident_booking",
                _("Booking as a non-resident"),
                _("You live outside the city: you can book up to one month ahead, and fees are %(percent)s%% higher.")
                % {"percent": rules.NON_RESIDENT_SURCHARGE_PERCENT},
                "resident_of",
            )
        )
    return found
