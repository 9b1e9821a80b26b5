"""A synthetic household at the counter: a parent (card with both certificates) and a child under 15 (card with
the authentication certificate only, 4-digit PIN), the parent recorded as the child's 親権者 (issue #18 §1)."""

from __future__ import annotations

import datetime
import random
import secrets
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from anchorid.jlis.issuance import issue_card
from anchorid.jlis.models import GuardianRelation, Household, HouseholdMember, Resident
from anchorid.jlis.seed import new_my_number, synthetic_resident, update_index


def _birth_date_turning(age: int, on: datetime.date) -> datetime.date:
    try:
        return on.replace(year=on.year - age)
    except ValueError:  # 29 February
        return on.replace(year=on.year - age, day=28)


def register_family(
    cards_dir: Path,
    *,
    child_turns_15_on: datetime.date,
    now: datetime.datetime | None = None,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """Register parent and child in one household, issue both cards; the INDEX.json entries of both."""
    rng = rng or random.Random()  # synthetic data, not secrets
    now = now or timezone.now()
    today = timezone.localdate(now)
    child_birth = _birth_date_turning(15, child_turns_15_on)
    if child_birth > today or child_turns_15_on <= today:
        raise ValueError("the child must be under 15 today (child_turns_15_on in the future, at most 15 years away)")
    with transaction.atomic():
        parent = synthetic_resident(rng, today)
        parent.birth_date = _birth_date_turning(rng.randint(30, 50), today) - datetime.timedelta(
            days=rng.randint(1, 300)
        )
        parent.my_number = new_my_number()
        parent.save()
        child = synthetic_resident(rng, today)
        child.family_name, child.family_name_kana = parent.family_name, parent.family_name_kana
        child.address, child.birth_date = parent.address, child_birth
        child.my_number = new_my_number()
        child.save()
        household = Household.objects.create(code=f"H{secrets.randbelow(10**10):010d}")
        HouseholdMember.objects.create(household=household, resident=parent, relation=HouseholdMember.Relation.HEAD)
        HouseholdMember.objects.create(household=household, resident=child, relation=HouseholdMember.Relation.CHILD)
        GuardianRelation.objects.create(child=child, guardian=parent, kind=GuardianRelation.Kind.PARENT)
    entries = [_entry(parent, cards_dir, now, "guardian"), _entry(child, cards_dir, now, "child")]
    update_index(cards_dir.resolve(), entries)
    return {"household": household.code, "guardian": entries[0], "child": entries[1]}


def _entry(resident: Resident, cards_dir: Path, now: datetime.datetime, role: str) -> dict[str, Any]:
    issued = issue_card(resident, cards_dir=cards_dir, now=now)
    return {
        "resident_id": resident.pk,
        "role": role,
        "birth_date": resident.birth_date.isoformat(),
        "card_file": str(issued.path),
        "signature_pin": issued.signature_pin,
        "authentication_pin": issued.authentication_pin,
        "text_ap_pin": issued.authentication_pin,
        "has_signature_certificate": issued.signature_certificate is not None,
        "signature_serial": str(issued.signature_certificate.serial) if issued.signature_certificate else None,
        "authentication_serial": str(issued.authentication_certificate.serial),
    }
