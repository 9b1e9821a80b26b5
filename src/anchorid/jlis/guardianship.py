"""Guardian relations in the resident register, over the operator API (issue #18 §1).

``POST /api/operator/v1/guardianships`` (a signed operator request like every other) carries a document the
*guardian* signed with their card's signature key::

    {"type": "anchorid.jlis.guardian-request/1", "operator": "<operator name>", "purpose": "...",
     "platform": "<the operator's origin>", "child_certificate_serial": "<decimal serial of the child's
     authentication certificate>", "signed_at": "<ISO 8601 with zone>", "nonce": "..."}

with ``signature`` and the guardian's signature ``certificate`` (base64url). J-LIS answers only when the signature
verifies with a signature certificate it issued and that was in force, the document names this operator and is
fresh, the child's authentication certificate is one it issued and good, and the register records the signer as
the child's parent or guardian (not ended) while the child is under 18. The answer names what was checked and
gives the child's four attributes from the register (the child's card carries none). Anything else: 4xx, stable
code, nothing recorded but the request's jti.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from anchorid.common import untrusted_json
from anchorid.jlis.models import Certificate, CertificateKind, GuardianRelation, HouseholdMember, PlatformOperator
from anchorid.jlis.operator_api import (
    CONSENT_MAX_AGE,
    E_CERTIFICATE_NOT_GOOD,
    E_CONSENT_OPERATOR_MISMATCH,
    E_STALE_CONSENT,
    MAX_CLOCK_SKEW,
    OperatorApiError,
    _signed_by_issued_certificate,
)
from anchorid.jlis.register import age_on, basic_four_info

DOCUMENT_TYPE = "anchorid.jlis.guardian-request/1"
ADULT_AGE = 18
E_INVALID_GUARDIAN_DOCUMENT = "invalid_guardian_document"
E_UNKNOWN_CHILD_CERTIFICATE = "unknown_child_certificate"
E_NOT_GUARDIAN = "not_guardian"
E_NOT_A_MINOR = "not_a_minor"


def _parse(document: bytes) -> tuple[str, int, datetime.datetime]:
    try:
        data = untrusted_json.loads(document)
        if not isinstance(data, dict) or data.get("type") != DOCUMENT_TYPE:
            raise ValueError(f"type must be {DOCUMENT_TYPE}")
        operator, signed_at, child = data["operator"], data["signed_at"], data["child_certificate_serial"]
        if not isinstance(operator, str) or not isinstance(signed_at, str) or not isinstance(child, str):
            raise ValueError("operator, signed_at and child_certificate_serial are strings")
        serial = int(child, 10)
        when = datetime.datetime.fromisoformat(signed_at)
        if when.tzinfo is None:
            raise ValueError("signed_at needs a time zone")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise OperatorApiError(400, E_INVALID_GUARDIAN_DOCUMENT, f"guardian document: {exc}") from None
    return operator, serial, when


def check_guardian(
    operator: PlatformOperator,
    *,
    document: bytes,
    signature: bytes,
    certificate_der: bytes,
    now: datetime.datetime | None = None,
) -> dict[str, Any]:
    now = now or timezone.now()
    signer = _signed_by_issued_certificate(document, signature, certificate_der)
    operator_name, child_serial, signed_at = _parse(document)
    if operator_name != operator.name:
        raise OperatorApiError(400, E_CONSENT_OPERATOR_MISMATCH, "the document names another operator")
    if signed_at > now + MAX_CLOCK_SKEW or signed_at < now - CONSENT_MAX_AGE:
        raise OperatorApiError(400, E_STALE_CONSENT, f"signed_at must be within {CONSENT_MAX_AGE} of the request")
    if not signer.is_good or not signer.not_before <= signed_at <= signer.not_after:
        raise OperatorApiError(400, E_CERTIFICATE_NOT_GOOD, "the guardian's certificate is not in force")
    child_certificate = (
        Certificate.objects.filter(kind=CertificateKind.AUTHENTICATION, serial=child_serial)
        .select_related("resident")
        .first()
    )
    if child_certificate is None or not child_certificate.is_good:
        raise OperatorApiError(
            404, E_UNKNOWN_CHILD_CERTIFICATE, "no authentication certificate in force has this serial"
        )
    child = child_certificate.resident
    guardian = signer.resident
    relation = GuardianRelation.objects.filter(child=child, guardian=guardian, ended_at__isnull=True).first()
    if relation is None or not guardian.is_alive:
        raise OperatorApiError(403, E_NOT_GUARDIAN, "the register does not record the signer as the child's guardian")
    today = timezone.localdate(now)
    age = age_on(child.birth_date, today)
    if age >= ADULT_AGE:
        raise OperatorApiError(403, E_NOT_A_MINOR, "the resident is of age: no guardian acts for them")
    child_household = HouseholdMember.objects.filter(resident=child).values_list("household_id", flat=True).first()
    guardian_household = (
        HouseholdMember.objects.filter(resident=guardian).values_list("household_id", flat=True).first()
    )
    info = basic_four_info(child)
    signature_certificate = (
        child.certificates.filter(kind=CertificateKind.SIGNATURE, status=Certificate.Status.GOOD)
        .order_by("-id")
        .first()
    )
    return {
        "relation": relation.kind,
        "same_household": child_household is not None and child_household == guardian_household,
        "guardian_certificate_serial": str(signer.serial),
        "child": {
            "authentication_certificate_serial": str(child_certificate.serial),
            "age": age,
            "resident_status": child.status,
            "has_signature_certificate": signature_certificate is not None,
            "attributes": {
                "name": info.name,
                "birth_date": info.birth_date.isoformat(),
                "gender": info.gender.value,
                "address": info.address,
            },
        },
        "checked": [
            "guardian_signature",
            "guardian_certificate_in_force",
            "child_authentication_certificate_in_force",
            "register_guardian_relation",
            "child_under_18",
            "household",
        ],
        "as_of": now.isoformat(),
    }
