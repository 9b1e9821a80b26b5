"""The departments' records as plain functions: opened at login, updated by AnchorID's events.

``DEPARTMENTS`` lists each department with its model and field; ``apply_event`` is the city receiver's handler and
runs inside the receiver's transaction (the jti and every department's change commit together).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from anchorid.city.departments import setup
from anchorid.city.departments.models import RecordChange, ResidentRecord, TaxRecord
from anchorid.common.rp.client import AnchorIDClient
from anchorid.common.settings_base import DATA_DIR
from anchorid.ssf_receiver import events
from anchorid.ssf_receiver.receive import Receiver
from anchorid.ssf_receiver.setup import receiver_config
from anchorid.ssf_receiver.verify import SecurityEvent

RECEIVER_NAME = "city-departments"


@dataclass(frozen=True)
class Department:
    code: str
    model: type[models.Model]
    field: str


DEPARTMENTS = (
    Department(RecordChange.Department.RESIDENTS, ResidentRecord, "address"),
    Department(RecordChange.Department.TAX, TaxRecord, "notice_address"),
)


def on_login(sub: str, claims: dict[str, Any]) -> None:
    """A resident shared their address with the departments: each opens its record (when it has none yet); the
    address given is the one on file until AnchorID tells of a change."""
    address = claims.get("address")
    if not isinstance(address, dict) or not address.get("formatted"):
        return
    with transaction.atomic():
        for department in DEPARTMENTS:
            _, created = department.model._default_manager.get_or_create(sub=sub, defaults={department.field: address})
            if created:
                RecordChange.objects.create(department=department.code, sub=sub, address=address,
                                            source=RecordChange.Source.LOGIN)  # fmt: skip


def records_of(sub: str) -> list[tuple[str, dict[str, Any] | None]]:
    """Each department's label and the address it holds for ``sub`` (None: no record)."""
    held = []
    for department in DEPARTMENTS:
        record = department.model._default_manager.filter(sub=sub).first()
        held.append((department.code, getattr(record, department.field) if record else None))
    return held


def apply_event(event: SecurityEvent) -> str:
    """The city receiver's handler: a changed address updates each department's record of the resident."""
    if event.event_type == events.VERIFICATION:
        return f"verification {events.verification_state(event)}"[:255]
    if event.event_type != events.CLAIMS_CHANGE:
        return "noted"
    address = events.changed_address(event)
    if address is None:
        return "no address change"
    updated, found = [], False
    for department in DEPARTMENTS:
        record = department.model._default_manager.select_for_update().filter(sub=event.sub).first()
        found = found or record is not None
        if record is None or getattr(record, department.field) == address:
            continue
        setattr(record, department.field, address)
        record.updated_at = timezone.now()  # type: ignore[attr-defined]
        record.save(update_fields=[department.field, "updated_at"])
        RecordChange.objects.create(department=department.code, sub=event.sub, address=address,
                                    source=RecordChange.Source.EVENT, txn=event.txn)  # fmt: skip
        updated.append(department.code)
    if updated:
        return f"updated: {', '.join(updated)}"
    return "already current" if found else "unknown subject: ignored"


@functools.cache
def client() -> AnchorIDClient:
    return AnchorIDClient(setup.load(DATA_DIR))


@functools.cache
def receiver() -> Receiver:
    return Receiver(receiver_config(setup.folder(DATA_DIR), RECEIVER_NAME, setup.load(DATA_DIR)), apply_event)
