"""What may be written in the audit log: event types, and for each the only detail keys allowed.

The log must never hold a PIN, key material or an attribute value (name, address, birth date, gender).
Subjects and actors are opaque ids. Details are checked against an allow-list per event type, and every
value against a narrow shape (an id, a short code, a list of codes, a number, a boolean), so free text
cannot carry personal data in by accident. Attribute *names* (``address``) are fine; their values are not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    ONBOARDING = "onboarding"
    CREDENTIAL_ISSUED = "credential_issued"
    CREDENTIAL_REVOKED = "credential_revoked"
    LOGIN = "login"
    CONSENT_GIVEN = "consent_given"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    ATTRIBUTE_CHANGE = "attribute_change"
    ANCHOR_CERTIFICATE_REVOKED = "anchor_certificate_revoked"
    ANCHOR_RELINKED = "anchor_relinked"
    SUSPENSION = "suspension"
    RESUMPTION = "resumption"
    DELETION = "deletion"
    PLATFORM_KEY_CREATED = "platform_key_created"
    DOCUMENT_SIGNED = "document_signed"
    GUARDIANSHIP = "guardianship"
    LINK_GRANTED = "link_granted"
    LINK_USED = "link_used"
    LINK_WITHDRAWN = "link_withdrawn"
    LINK_REFUSED = "link_refused"


class ForbiddenDetail(ValueError):
    """An entry was refused: a detail key not allowed for its event type, or a value of the wrong shape.

    The message names the key, never the value (the value may be exactly what must not be logged).
    """


OPAQUE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
CODE = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")
FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")
MAX_LIST = 32

Validator = Callable[[Any], bool]


def _opaque_id(value: Any) -> bool:
    return isinstance(value, str) and bool(OPAQUE_ID.fullmatch(value))


def _code(value: Any) -> bool:
    return isinstance(value, str) and bool(CODE.fullmatch(value))


def _codes(value: Any) -> bool:
    return isinstance(value, list) and len(value) <= MAX_LIST and all(_code(v) for v in value)


def _fingerprint(value: Any) -> bool:
    """A SHA-256 fingerprint of a certificate, in lowercase hex."""
    return isinstance(value, str) and bool(FINGERPRINT.fullmatch(value))


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _one_of(*choices: str) -> Validator:
    def check(value: Any) -> bool:
        return value in choices

    return check


CREDENTIAL_KIND = _one_of("passkey", "device_certificate", "signing_certificate")
# The four basic attributes (基本4情報) by name, never by value.
ATTRIBUTE_NAMES = ("name", "address", "birthdate", "gender")


def _attribute_names(value: Any) -> bool:
    return isinstance(value, list) and all(v in ATTRIBUTE_NAMES for v in value)


ALLOWED_DETAILS: Mapping[EventType, Mapping[str, Validator]] = {
    EventType.ONBOARDING: {
        "method": _one_of("card", "card_cross_device"),
        "certificate_fingerprint": _fingerprint,
        "assurance": _code,
        "account_recovered": _flag,
    },
    EventType.CREDENTIAL_ISSUED: {"credential_id": _opaque_id, "credential_kind": CREDENTIAL_KIND, "assurance": _code},
    EventType.CREDENTIAL_REVOKED: {"credential_id": _opaque_id, "credential_kind": CREDENTIAL_KIND, "reason": _code},
    EventType.LOGIN: {
        "method": _one_of("passkey", "device_key", "card"),
        "acr": _opaque_id,
        "client_id": _opaque_id,
        "outcome": _one_of("success", "failure"),
        "step_up": _flag,
    },
    EventType.CONSENT_GIVEN: {"client_id": _opaque_id, "claims": _codes, "consent_id": _opaque_id},
    EventType.CONSENT_WITHDRAWN: {"client_id": _opaque_id, "claims": _codes, "consent_id": _opaque_id},
    EventType.ATTRIBUTE_CHANGE: {
        "attributes": _attribute_names,
        "source": _one_of("jlis_current_attributes", "card_reverification", "card_renewal"),
        "stale": _flag,
    },
    EventType.ANCHOR_CERTIFICATE_REVOKED: {
        "certificate_fingerprint": _fingerprint,
        "reason": _code,
        "detected_by": _one_of("crl", "ocsp", "validity"),
    },
    # The account moved to the successor jlis linked to its revoked anchor (consented refresh, docs/lifecycle.md).
    EventType.ANCHOR_RELINKED: {
        "certificate_fingerprint": _fingerprint,
        "previous_fingerprint": _fingerprint,
        "source": _one_of("jlis_certificate_links"),
    },
    EventType.SUSPENSION: {
        "scope": _one_of("account", "credential"),
        "credential_id": _opaque_id,
        "channel": _one_of("session", "card", "staff", "jlis", "guardian"),
        "reason": _code,
    },
    EventType.RESUMPTION: {
        "scope": _one_of("account", "credential"),
        "credential_id": _opaque_id,
        "method": _one_of("card", "staff"),
    },
    EventType.DELETION: {"reason": _code},
    EventType.PLATFORM_KEY_CREATED: {
        "key_name": _code,
        "key_id": _fingerprint,
        "algorithm": _one_of("EC-P256", "RSA-2048"),
    },
    # A child's account and its guardian (docs/guardians.md): opaque ids and codes, never the register's answer.
    EventType.GUARDIANSHIP: {
        "action": _one_of("established", "approved", "refused", "stopped", "reanchored", "narrowed", "ended"),
        "guardian": _opaque_id,
        "confirmed_by": _one_of("register", "counter"),
        "client_id": _opaque_id,
        "claims": _codes,
        "certificate_fingerprint": _fingerprint,
    },
    # Links between two services (docs/protocols/token-exchange.md): ids, scope names and error codes, never data.
    EventType.LINK_GRANTED: {
        "link_id": _opaque_id,
        "offer_id": _opaque_id,
        "client_id": _opaque_id,
        "target_id": _opaque_id,
        "scopes": _codes,
    },
    EventType.LINK_USED: {
        "link_id": _opaque_id,
        "client_id": _opaque_id,
        "target_id": _opaque_id,
        "scopes": _codes,
        "further": _flag,
    },
    EventType.LINK_WITHDRAWN: {
        "link_id": _opaque_id,
        "offer_id": _opaque_id,
        "client_id": _opaque_id,
        "target_id": _opaque_id,
        "scopes": _codes,
    },
    EventType.LINK_REFUSED: {"client_id": _opaque_id, "target_id": _opaque_id, "scopes": _codes, "error": _code},
    # A resident signed a document: its hash and opaque ids only, never its content or the signer's attributes.
    EventType.DOCUMENT_SIGNED: {
        "document_sha256": _fingerprint,
        "signature_id": _opaque_id,
        "method": _one_of("card", "wallet"),
        "credential_id": _opaque_id,
        "certificate_fingerprint": _fingerprint,
    },
}


def check_event_type(event_type: str) -> EventType:
    try:
        return EventType(event_type)
    except ValueError:
        raise ForbiddenDetail(f"unknown audit event type {event_type!r}") from None


def check_party_id(value: Any, role: str) -> str:
    """Subjects and actors are opaque ids (``acct_…``, ``system:watcher``), never a name."""
    if not _opaque_id(value):
        raise ForbiddenDetail(f"the {role} must be an opaque id (letters, digits, ._:/-; at most 128)")
    assert isinstance(value, str)
    return value


def check_details(event_type: EventType, details: Mapping[str, Any]) -> dict[str, Any]:
    """Refuse any key not allowed for ``event_type`` and any value of the wrong shape; return a plain copy."""
    if not isinstance(details, Mapping):
        raise ForbiddenDetail("details must be a JSON object")
    allowed = ALLOWED_DETAILS[event_type]
    for key, value in details.items():
        validator = allowed.get(key)
        if validator is None:
            shown = repr(key) if _code(key) else "(a key not shown)"
            raise ForbiddenDetail(
                f"detail key {shown} is not allowed in {event_type.value} events "
                f"(allowed: {', '.join(sorted(allowed))})"
            )
        if not validator(value):
            raise ForbiddenDetail(f"detail {key!r} has the wrong shape for {event_type.value} events")
    return dict(details)
