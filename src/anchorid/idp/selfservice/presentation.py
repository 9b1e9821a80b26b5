"""How audit entries read in the resident's activity history (translated labels; no values beyond codes)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from anchorid.idp.audit.models import AuditEntry
from anchorid.jpki.attributes import BasicFourInfo, Gender


@dataclass(frozen=True, slots=True)
class ActivityLine:
    time: datetime
    what: str
    how: str
    failed: bool
    seq: int


def _labels() -> dict[str, str]:
    return {
        "onboarding": _("Registered with your My Number Card"),
        "credential_issued": _("Credential added"),
        "credential_revoked": _("Credential revoked"),
        "login": _("Logged in"),
        "consent_given": _("Consent given to a service"),
        "consent_withdrawn": _("Consent withdrawn"),
        "attribute_change": _("Attributes updated"),
        "anchor_certificate_revoked": _("Card signature certificate revoked"),
        "anchor_relinked": _("Account moved to your new card signature certificate"),
        "suspension": _("Stopped (emergency stop)"),
        "resumption": _("Resumed"),
        "deletion": _("Account deleted"),
        "platform_key_created": _("Platform key created"),
        "document_signed": _("Document signed"),
        "guardianship": _("Guardianship"),
        "link_granted": _("Two services linked for you"),
        "link_used": _("A linked service worked for you"),
        "link_withdrawn": _("Link between services withdrawn"),
        "link_refused": _("A linked service was refused"),
    }


def _guardianship_actions() -> dict[str, str]:
    """What a guardian or the watcher did to a child's account (``details["action"]`` of a guardianship entry)."""
    return {
        "established": _("Account opened with a guardian"),
        "approved": _("A guardian approved a service"),
        "refused": _("A guardian refused a service"),
        "stopped": _("Stopped by a guardian"),
        "reanchored": _("Account moved to the card's signature certificate (15th birthday)"),
        "narrowed": _("The guardian's role narrowed"),
        "ended": _("Guardianship ended (18th birthday)"),
    }


def _methods() -> dict[str, str]:
    return {
        "passkey": _("passkey"),
        "device_key": _("wallet key"),
        "card": _("My Number Card"),
        "card_cross_device": _("My Number Card (another device)"),
        "device_certificate": _("wallet certificate"),
        "session": _("from a logged-in device"),
        "account": _("whole account"),
        "credential": _("one credential"),
        "staff": _("by platform staff"),
    }


def service_names() -> dict[str, str]:
    """Every registered service's name by the client id its audit entries carry."""
    from anchorid.idp.oidc.consent import _audit_id
    from anchorid.idp.oidc.models import Client

    return {_audit_id(client_id): name for client_id, name in Client.objects.values_list("client_id", "name")}


def describe_entry(entry: AuditEntry, services: Mapping[str, str] | None = None) -> ActivityLine:
    """One line of the history: a translated label (never the event code), with the service's name for consent
    entries (``services``: client id → the name the consent screen showed)."""
    details = entry.details if isinstance(entry.details, dict) else {}
    methods = _methods()
    parts = []
    for key in ("method", "credential_kind", "scope", "channel"):
        value = details.get(key)
        if isinstance(value, str) and value in methods:
            parts.append(methods[value])
    if details.get("step_up"):
        parts.append(_("step-up"))
    failed = details.get("outcome") == "failure"
    what = _labels().get(entry.event_type, _("Other activity"))
    if entry.event_type == "guardianship" and isinstance(entry.details, dict):
        what = _guardianship_actions().get(str(entry.details.get("action", "")), what)
    client = details.get("client_id")
    if services is not None and isinstance(client, str) and client in services:
        if entry.event_type == "consent_given":
            what = _("Consent given to %(service)s") % {"service": services[client]}
        elif entry.event_type == "consent_withdrawn":
            what = _("Consent withdrawn from %(service)s") % {"service": services[client]}
    if failed:
        what = _("Login refused")
    return ActivityLine(time=entry.time, what=what, how=", ".join(parts), failed=failed, seq=entry.seq)


def attribute_rows(info: BasicFourInfo | None) -> list[tuple[str, str]]:
    """The four attributes as (label, value) for the resident's own eyes; decrypted only for this page."""
    if info is None:
        return []
    genders = {Gender.MALE: _("male"), Gender.FEMALE: _("female"), Gender.UNKNOWN: _("not stated")}
    return [
        (_("Name"), info.name),
        (_("Date of birth"), date_format(info.birth_date, "DATE_FORMAT")),
        (_("Gender"), genders[info.gender]),
        (_("Address"), info.address),
    ]
