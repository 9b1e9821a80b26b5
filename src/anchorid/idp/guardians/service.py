"""Opening a child's account with a guardian, the guardian's approvals, and stopping the child's account."""

from __future__ import annotations

import datetime
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone

from anchorid.common import untrusted_json
from anchorid.idp import jlis_client
from anchorid.idp.accounts.models import Account, AnchorCertificate
from anchorid.idp.adoption.counting import record_onboarding
from anchorid.idp.audit.chain import append
from anchorid.idp.audit.events import EventType
from anchorid.idp.guardians.models import ChildAccount, ChildSetupLink, Guardianship, ServiceApproval
from anchorid.idp.keystore import KeyStoreError
from anchorid.idp.oidc.models import Client, ConsentDecision
from anchorid.idp.onboarding import challenges, refusals
from anchorid.idp.onboarding.refusals import Refusal
from anchorid.idp.onboarding.verification import FAILURE_CODES, parse_submission
from anchorid.jpki.attributes import BasicFourInfo, Gender
from anchorid.jpki.profiles import CertKind
from anchorid.jpki.verify import SignatureInvalid, validate_certificate, verify_signature

PURPOSE = "child_card"
#: ``Account.attributes_verified_how`` of a child's attributes, and what ``verified_claims`` then says.
VERIFIED_VIA_REGISTER = "jlis-register-via-guardian"
VERIFIED_VIA_COUNTER = "city-counter-via-guardian"
GUARDIAN_DOCUMENT_TYPE = "anchorid.jlis.guardian-request/1"
GUARDIAN_PURPOSE = "AnchorID: 子のアカウントの開設 (open my child's account)"
SESSION_CHILD = "anchorid.guardians.child_card"
SESSION_DOCUMENT = "anchorid.guardians.document"
SETUP_LIFETIME = datetime.timedelta(minutes=30)


class GuardianRefused(Exception):
    """Refused; ``code`` is stable; nothing was changed."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ChildCard:
    serial: int
    fingerprint: str
    issuer_fingerprint: str
    not_before: datetime.datetime
    not_after: datetime.datetime

    def as_session(self) -> dict[str, str]:
        return {"serial": str(self.serial), "fingerprint": self.fingerprint, "issuer": self.issuer_fingerprint,
                "not_before": self.not_before.isoformat(), "not_after": self.not_after.isoformat()}  # fmt: skip

    @classmethod
    def from_session(cls, data: Any) -> ChildCard:
        if not isinstance(data, dict):
            raise GuardianRefused("no_child_card", "prove the child's card first")
        return cls(int(data["serial"]), data["fingerprint"], data["issuer"],
                   datetime.datetime.fromisoformat(data["not_before"]),
                   datetime.datetime.fromisoformat(data["not_after"]))  # fmt: skip


def verify_child_card(session: SessionBase, body: bytes, origin: str, *, purpose: str = PURPOSE) -> ChildCard:
    """The child's card signed this session's challenge with its user-authentication key: the certificate chains
    to the JPKI authentication CA and is good at J-LIS (OCSP, fail closed). Raises :class:`Refusal`."""
    submission = parse_submission(body)
    challenges.consume(
        submission.challenge, origin, binding=challenges.session_binding(session), via=purpose, purpose=PURPOSE
    )
    certificate = submission.certificate
    try:
        verify_signature(certificate, submission.challenge.encode("utf-8"), submission.signature)
    except SignatureInvalid:
        raise Refusal(refusals.SIGNATURE_MISMATCH) from None
    result = validate_certificate(
        certificate,
        jlis_client.trust_anchors(),
        CertKind.AUTHENTICATION,
        revocation=jlis_client.ocsp_responder(CertKind.AUTHENTICATION),
    )
    if not result.ok:
        assert result.failure is not None
        raise Refusal(FAILURE_CODES[result.failure], result.message)
    return ChildCard(
        serial=certificate.serial_number,
        fingerprint=jlis_client.certificate_fingerprint(certificate),
        issuer_fingerprint=jlis_client.certificate_fingerprint(result.path[-1]),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
    )


def child_card_anchor(card: ChildCard) -> AnchorCertificate | None:
    return AnchorCertificate.objects.filter(issuer_fingerprint=card.issuer_fingerprint, serial=str(card.serial)).first()


def remember_child_card(session: SessionBase, card: ChildCard) -> None:
    if child_card_anchor(card) is not None:
        raise GuardianRefused("child_already_registered", "this card already has an account")
    session[SESSION_CHILD] = card.as_session()


def prepare_document(session: SessionBase, origin: str, *, now: datetime.datetime | None = None) -> str:
    """The guardian request the guardian's card signs (jlis checks the register with it)."""
    card = ChildCard.from_session(session.get(SESSION_CHILD))
    now = (now or timezone.now()).replace(microsecond=0)
    document = json.dumps(
        {
            "type": GUARDIAN_DOCUMENT_TYPE,
            "operator": jlis_client.operator_name(),
            "purpose": GUARDIAN_PURPOSE,
            "platform": origin,
            "child_certificate_serial": str(card.serial),
            "signed_at": now.isoformat(),
            "nonce": secrets.token_urlsafe(16),
        },
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )
    session[SESSION_DOCUMENT] = document
    return document


def _guardian_may_act(guardian: Account) -> AnchorCertificate:
    anchor = guardian.current_anchor()
    if guardian.status != Account.Status.ACTIVE or anchor is None or anchor.status != AnchorCertificate.Status.GOOD:
        raise GuardianRefused(
            "guardian_not_full", "a guardian needs a full account anchored on a signature certificate"
        )
    if ChildAccount.objects.filter(account=guardian).exclude(stage=ChildAccount.Stage.ADULT).exists():
        raise GuardianRefused("guardian_not_full", "a minor cannot be a guardian here")
    return anchor


def _register_info(attributes: dict[str, Any]) -> BasicFourInfo:
    name, address = str(attributes["name"]), str(attributes["address"])
    return BasicFourInfo(
        name=name,
        birth_date=datetime.date.fromisoformat(str(attributes["birth_date"])),
        gender=Gender(str(attributes["gender"])),
        address=address,
        name_substitutes="0" * len(name),
        address_substitutes="0" * len(address),
    )


def confirm_with_register(
    guardian: Account, session: SessionBase, *, document: str, certificate_der: bytes, signature: bytes
) -> Account:
    """The guardian's card signed this session's guardian request; jlis confirms the relation in the register and
    gives the child's attributes; the child's account is opened (see the package docstring)."""
    expected = session.get(SESSION_DOCUMENT)
    if not isinstance(expected, str) or document != expected:
        raise GuardianRefused("unknown_document", "sign the request this page prepared")
    card = ChildCard.from_session(session.get(SESSION_CHILD))
    anchor = _guardian_may_act(guardian)
    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
    except ValueError:
        raise GuardianRefused("invalid_certificate") from None
    if anchor.fingerprint != jlis_client.certificate_fingerprint(certificate):
        raise GuardianRefused("not_current_anchor", "sign with the card that anchors your account")
    data = document.encode("utf-8")
    try:
        verify_signature(certificate, data, signature)
    except SignatureInvalid:
        raise GuardianRefused("bad_signature") from None
    try:
        answer = jlis_client.guardianship(data, signature, certificate_der)
    except jlis_client.JlisRefused as refusal:
        raise GuardianRefused(f"jlis_{refusal.code}", refusal.description) from None
    except (jlis_client.JlisUnavailable, KeyStoreError):
        raise GuardianRefused("jlis_unavailable") from None
    try:
        child = answer["child"]
        if str(child["authentication_certificate_serial"]) != str(card.serial):
            raise GuardianRefused("jlis_mismatch", "jlis answered about another certificate")
        info = _register_info(child["attributes"])
        checked = {
            "source": "jlis_register",
            "relation": str(answer["relation"]),
            "same_household": bool(answer["same_household"]),
            "checks": [str(c) for c in answer["checked"]],
            "as_of": str(answer["as_of"]),
            "document_sha256": hashlib.sha256(data).hexdigest(),
        }
    except (KeyError, TypeError, ValueError) as error:
        raise GuardianRefused("jlis_malformed", str(error)) from None
    opened = open_child_account(guardian, card, info, Guardianship.ConfirmedBy.REGISTER, checked, VERIFIED_VIA_REGISTER)
    session.pop(SESSION_DOCUMENT, None)
    session.pop(SESSION_CHILD, None)
    return opened


def confirm_at_counter(
    guardian: Account, card: ChildCard, info: BasicFourInfo, *, staff: str, documents: list[str]
) -> Account:
    """City counter staff confirmed the relation from documents (e.g. 戸籍謄本, 住民票の写し) and typed the
    child's attributes from them: recorded with who checked what."""
    _guardian_may_act(guardian)
    if child_card_anchor(card) is not None:
        raise GuardianRefused("child_already_registered")
    if not staff.strip() or not documents:
        raise GuardianRefused("counter_record_incomplete", "name the staff member and the documents checked")
    checked = {"source": "city_counter", "staff": staff.strip(), "documents": [d.strip() for d in documents]}
    return open_child_account(guardian, card, info, Guardianship.ConfirmedBy.COUNTER, checked, VERIFIED_VIA_COUNTER)


def open_child_account(
    guardian: Account, card: ChildCard, info: BasicFourInfo, confirmed_by: str, checked: dict[str, Any], how: str
) -> Account:
    now = timezone.now()
    with transaction.atomic():
        child = Account(id=uuid.uuid4(), kind=Account.Kind.RESIDENT)
        child.handle = f"resident-{child.id.hex}"
        child.set_unusable_password()
        child.set_attributes(info, verified_how=how, verified_at=now)
        child.save(force_insert=True)
        AnchorCertificate.objects.create(
            account=child, issuer_fingerprint=card.issuer_fingerprint, serial=str(card.serial),
            fingerprint=card.fingerprint, not_before=card.not_before, not_after=card.not_after, current=True,
            status=AnchorCertificate.Status.GOOD, checked_at=now, anchored_at=now,
        )  # fmt: skip
        ChildAccount.objects.create(account=child, authentication_serial=str(card.serial))
        Guardianship.objects.create(child=child, guardian=guardian, confirmed_by=confirmed_by, checked=checked)
        record_onboarding(info.birth_date, info.gender.value, now)
        details = {"action": "established", "guardian": str(guardian.pk), "confirmed_by": confirmed_by,
                   "certificate_fingerprint": card.fingerprint}  # fmt: skip
        append(EventType.GUARDIANSHIP, str(child.pk), str(guardian.pk), details)
        append(EventType.GUARDIANSHIP, str(guardian.pk), str(guardian.pk), details)
    return child


# --- the guardian's powers ------------------------------------------------------------------------------------


def active_guardianship(guardian: Account, child_id: Any, *, roles: tuple[str, ...]) -> Guardianship:
    found = (
        Guardianship.objects.select_related("child")
        .filter(guardian=guardian, child_id=child_id, role__in=roles, ended_at__isnull=True)
        .first()
    )
    if found is None:
        raise GuardianRefused("not_your_child")
    return found


def full_guardian_of(child: Account) -> bool:
    """Whether the child's consents go to a guardian (under 15, a full guardianship)."""
    return Guardianship.objects.filter(child=child, role=Guardianship.Role.FULL, ended_at__isnull=True).exists()


def request_approval(child: Account, client: Client, requested: dict[str, bool]) -> ServiceApproval:
    """The consent screen of a child goes to the guardian: one pending approval per service (refreshed)."""
    approval, _ = ServiceApproval.objects.update_or_create(
        child=child, client=client, status=ServiceApproval.Status.PENDING,
        defaults={"requested": requested, "requested_at": timezone.now()},
    )  # fmt: skip
    return approval


def decide(guardian: Account, approval_id: int, *, approve: bool, claims: set[str]) -> ServiceApproval:
    """The guardian approves the service with the essential claims and the ticked optional ones, or refuses."""
    with transaction.atomic():
        approval = ServiceApproval.objects.select_for_update().filter(pk=approval_id).first()
        if approval is None or approval.status != ServiceApproval.Status.PENDING:
            raise GuardianRefused("unknown_approval")
        active_guardianship(guardian, approval.child_id, roles=(Guardianship.Role.FULL,))
        requested: dict[str, bool] = approval.requested
        granted = sorted(c for c, essential in requested.items() if approve and (essential or c in claims))
        now = timezone.now()
        for claim in requested:
            ConsentDecision.objects.update_or_create(
                account_id=approval.child_id, client=approval.client, claim=claim,
                defaults={"granted": claim in granted, "decided_at": now},
            )  # fmt: skip
        approval.status = ServiceApproval.Status.APPROVED if approve else ServiceApproval.Status.REFUSED
        approval.granted, approval.decided_at, approval.decided_by = granted, now, guardian
        approval.save()
        append(EventType.GUARDIANSHIP, str(approval.child_id), str(guardian.pk),
               {"action": "approved" if approve else "refused", "guardian": str(guardian.pk),
                "client_id": approval.client.client_id[:128], "claims": granted})  # fmt: skip
    return approval


def stop_child(guardian: Account, child_id: Any) -> Account:
    from anchorid.idp.selfservice.actions import suspend_account

    guardianship = active_guardianship(guardian, child_id, roles=(Guardianship.Role.FULL,))
    stopped = suspend_account(guardianship.child, channel="guardian", reason="guardian_request")
    append(
        EventType.GUARDIANSHIP, str(stopped.pk), str(guardian.pk), {"action": "stopped", "guardian": str(guardian.pk)}
    )
    return stopped


def new_setup_link(guardian: Account, child_id: Any) -> str:
    """A one-time token for the child's own device (30 minutes): card login once, then a passkey."""
    guardianship = active_guardianship(guardian, child_id, roles=(Guardianship.Role.FULL, Guardianship.Role.NARROWED))
    token = secrets.token_urlsafe(24)
    ChildSetupLink.objects.create(child=guardianship.child, token_hash=hashlib.sha256(token.encode()).hexdigest(),
                                  expires_at=timezone.now() + SETUP_LIFETIME)  # fmt: skip
    return token


def setup_link(token: str) -> ChildSetupLink:
    link = ChildSetupLink.objects.filter(token_hash=hashlib.sha256(token.encode()).hexdigest()).first()
    if link is None or link.used_at is not None or link.expires_at <= timezone.now():
        raise GuardianRefused("setup_link_invalid")
    return link


def use_setup_link(token: str, card: ChildCard) -> Account:
    """The child's card (authentication key) on the child's device, with the guardian's link: the child is in."""
    with transaction.atomic():
        link = setup_link(token)
        anchor = child_card_anchor(card)
        if anchor is None or anchor.account_id != link.child_id or not anchor.current:
            raise GuardianRefused("not_this_child", "this card does not belong to the account the link is for")
        link.used_at = timezone.now()
        link.save(update_fields=["used_at"])
        return Account.objects.get(pk=link.child_id)


def parse_json(body: bytes) -> dict[str, Any]:
    data = untrusted_json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data
