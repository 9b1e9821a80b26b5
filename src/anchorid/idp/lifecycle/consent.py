"""The resident's prior consent to automatic refresh: signed with the card, lodged at jlis, withdrawable.

The law (公的個人認証法 §18-2, the 2021 amendment) lets a platform operator obtain a resident's current four
attributes from J-LIS only with the resident's consent, given with their signature certificate. So:

1. :func:`prepare_document` writes the consent document jlis expects (``anchorid.jlis.attribute-consent/1``:
   operator, purpose, signed_at, plus this site's origin and a nonce) and keeps it in the browser session;
2. the card helper (``POST /v1/sign-consent``) shows the resident the operator and the purpose and has the card
   sign exactly those bytes (SHA-256, PKCS#1 v1.5);
3. :func:`give` checks that the certificate is the account's current, good anchor and that the signature
   verifies, lodges document + signature + certificate at jlis (``jlis_client.lodge_consent``), records the
   consent id jlis returned and audits it. Any refusal changes nothing here.

:func:`withdraw` stops using the consent at once (``withdrawn_at``) and tells jlis; when jlis cannot be reached
the withdrawal stays ``withdrawal_pending`` and every sweep sends it again until jlis acknowledges it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime
from typing import Any

from cryptography import x509
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone

from anchorid.common import untrusted_json
from anchorid.idp import jlis_client
from anchorid.idp.accounts.models import Account, AnchorCertificate
from anchorid.idp.audit.chain import append
from anchorid.idp.audit.events import EventType
from anchorid.idp.keystore import KeyStoreError
from anchorid.idp.lifecycle.models import RefreshConsent
from anchorid.jpki.verify import SignatureInvalid, verify_signature

DOCUMENT_TYPE = "anchorid.jlis.attribute-consent/1"
PURPOSE = (
    "AnchorID: 転居・氏名変更で署名用電子証明書が失効したとき、最新の基本4情報をJ-LISから取得して更新する "
    "(refresh my four basic attributes from J-LIS when my signature certificate is revoked after a move or a "
    "name change)"
)
SESSION_KEY = "anchorid.lifecycle.consent_document"
#: The audit log's name for the party a refresh consent is given to.
AUDIT_CLIENT_ID = "jlis"
AUDIT_CLAIMS = ["name", "address", "birthdate", "gender"]
MAX_DOCUMENT_BYTES = 2048


class ConsentRefused(Exception):
    """Giving or withdrawing the consent was refused; ``code`` is stable, nothing was changed."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def standing(account: Account) -> RefreshConsent | None:
    return RefreshConsent.objects.filter(account=account, withdrawn_at__isnull=True).first()


def build_document(origin: str, *, now: datetime | None = None) -> str:
    now = (now or timezone.now()).replace(microsecond=0)
    document = {
        "type": DOCUMENT_TYPE,
        "operator": jlis_client.operator_name(),
        "purpose": PURPOSE,
        "signed_at": now.isoformat(),
        "platform": origin,
        "nonce": secrets.token_urlsafe(16),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def prepare_document(session: SessionBase, origin: str) -> str:
    """A fresh consent document for the card to sign, remembered in this browser session."""
    document = build_document(origin)
    session[SESSION_KEY] = document
    return document


def give(
    account: Account, session: SessionBase, *, document: str, certificate_der: bytes, signature: bytes
) -> RefreshConsent:
    """Check the card's signature over this session's document, lodge it at jlis, record it (see module doc)."""
    expected = session.get(SESSION_KEY)
    if not isinstance(expected, str) or document != expected:
        raise ConsentRefused("unknown_document", "sign the consent document this page prepared")
    if standing(account) is not None:
        raise ConsentRefused("already_given")
    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
    except ValueError:
        raise ConsentRefused("invalid_certificate") from None
    anchor = account.current_anchor()
    if (
        anchor is None
        or anchor.status != AnchorCertificate.Status.GOOD
        or anchor.fingerprint != jlis_client.certificate_fingerprint(certificate)
    ):
        raise ConsentRefused("not_current_anchor", "sign with the card that anchors this account")
    data = document.encode("utf-8")
    try:
        verify_signature(certificate, data, signature)
    except SignatureInvalid:
        raise ConsentRefused("bad_signature") from None
    try:
        lodged = jlis_client.lodge_consent(data, signature, certificate_der)
    except jlis_client.JlisRefused as refusal:
        raise ConsentRefused(f"jlis_{refusal.code}", refusal.description) from None
    except (jlis_client.JlisUnavailable, KeyStoreError):
        raise ConsentRefused("jlis_unavailable") from None
    signed_at = datetime.fromisoformat(untrusted_json.loads(document)["signed_at"])
    with transaction.atomic():
        consent = RefreshConsent.objects.create(
            account=account,
            jlis_consent_id=lodged.consent_id,
            certificate_serial=str(certificate.serial_number),
            document_sha256=hashlib.sha256(data).hexdigest(),
            signed_at=signed_at,
        )
        append(
            EventType.CONSENT_GIVEN,
            str(account.pk),
            str(account.pk),
            {"client_id": AUDIT_CLIENT_ID, "claims": AUDIT_CLAIMS, "consent_id": f"jlis-{lodged.consent_id}"},
        )
    session.pop(SESSION_KEY, None)
    return consent


def _tell_jlis(consent: RefreshConsent) -> bool:
    try:
        jlis_client.withdraw_consent(consent.jlis_consent_id)
    except jlis_client.JlisRefused as refusal:
        # jlis no longer knows it (unknown_consent): nothing left to withdraw there.
        return refusal.code == "unknown_consent"
    except (jlis_client.JlisUnavailable, KeyStoreError):
        return False
    return True


def withdraw(account: Account) -> RefreshConsent:
    """Withdraw the standing consent: unused from now on; jlis told now or by the next sweeps."""
    with transaction.atomic():
        consent = RefreshConsent.objects.select_for_update().filter(account=account, withdrawn_at__isnull=True).first()
        if consent is None:
            raise ConsentRefused("no_consent")
        consent.withdrawn_at = timezone.now()
        consent.withdrawal_pending = True
        consent.save(update_fields=["withdrawn_at", "withdrawal_pending"])
        append(
            EventType.CONSENT_WITHDRAWN,
            str(account.pk),
            str(account.pk),
            {"client_id": AUDIT_CLIENT_ID, "claims": AUDIT_CLAIMS, "consent_id": f"jlis-{consent.jlis_consent_id}"},
        )
    if _tell_jlis(consent):
        RefreshConsent.objects.filter(pk=consent.pk).update(withdrawal_pending=False)
        consent.withdrawal_pending = False
    return consent


def retry_pending_withdrawals() -> dict[str, Any]:
    """Send withdrawals jlis has not acknowledged yet; returns error counts (``withdrawal_pending``)."""
    failed = 0
    for consent in RefreshConsent.objects.filter(withdrawal_pending=True):
        if _tell_jlis(consent):
            RefreshConsent.objects.filter(pk=consent.pk).update(withdrawal_pending=False)
        else:
            failed += 1
    return {"withdrawal_pending": failed} if failed else {}
