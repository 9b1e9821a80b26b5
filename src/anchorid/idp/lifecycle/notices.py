"""Telling the resident: an in-app notice in /me/, and an e-mail through Django's mail framework.

Accounts have no e-mail address from onboarding (the card carries none). A resident who wants e-mails gives a
contact address in /me/; it is used only after they followed the link sent to it (:func:`request_verification`,
:func:`confirm_verification`). Messages name what happened (a reason code turned into words) and link to /me/;
they never contain an attribute value -- the new address is something the resident reads after logging in.

Which mail backend delivers is Django's ``EMAIL_BACKEND``: locmem in the tests, the console or a file folder in
the demo, SMTP in production.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from anchorid.idp.accounts.models import Account
from anchorid.idp.lifecycle import conf
from anchorid.idp.lifecycle.models import ContactEmail, Notice

log = logging.getLogger(__name__)
VERIFICATION_SALT = "anchorid.idp.lifecycle.contact-email"
VERIFICATION_MAX_AGE = timedelta(days=1)


def create(items: Iterable[tuple[Any, str, str]], *, now: datetime | None = None) -> list[Notice]:
    """One notice per (account id, kind, reason); e-mailed after the surrounding transaction commits."""
    now = now or timezone.now()
    notices = Notice.objects.bulk_create(
        [Notice(account_id=account_id, kind=kind, reason=reason, created_at=now) for account_id, kind, reason in items]
    )
    ids = [notice.pk for notice in notices]  # SQLite ≥ 3.35 and PostgreSQL return them from bulk_create
    transaction.on_commit(lambda: send_emails(ids))
    return notices


def unread(account: Account, *, limit: int = 20) -> list[Notice]:
    return list(Notice.objects.filter(account=account, read_at__isnull=True)[:limit])


def mark_read(account: Account, notice_id: int) -> bool:
    return bool(
        Notice.objects.filter(account=account, pk=notice_id, read_at__isnull=True).update(read_at=timezone.now())
    )


def describe(kind: str, reason: str) -> str:
    """The notice's text (translated in the active language)."""
    texts: dict[str, str] = {
        Notice.Kind.ANCHOR_REVOKED: _(
            "The signature certificate of your My Number Card was revoked (reason: %(reason)s). Your verified "
            "attributes are marked as possibly out of date until they are refreshed."
        ),
        Notice.Kind.ANCHOR_EXPIRED: _(
            "The signature certificate of your My Number Card has expired. Renew it at the city office, then verify "
            "again with your card."
        ),
        Notice.Kind.CARD_HELD: _(
            "Your My Number Card was reported lost and its certificates are on hold: logging in with the card is "
            "stopped. Your passkeys and wallet keep working unless you stop them."
        ),
        Notice.Kind.ATTRIBUTES_REFRESHED: _(
            "Your verified attributes were refreshed from J-LIS with your prior consent, and the services you chose "
            "are being told."
        ),
        Notice.Kind.REVERIFY: _(
            "Your attributes may have changed. Renew your card's signature certificate at the city office if needed, "
            "then verify again with your card (or give consent to automatic refresh)."
        ),
        Notice.Kind.ACCOUNT_DISABLED: _(
            "J-LIS reported the holder of this account as deceased: the account is closed."
        ),
        Notice.Kind.HOLD_RELEASED: _("The hold on your card's signature certificate was released."),
    }
    text = texts.get(kind, _("Something changed on your account."))  # a member compares equal to its value
    return text % {"reason": reason_label(reason)} if "%(reason)s" in text else text


def reason_label(reason: str) -> str:
    labels = {
        "affiliationChanged": _("your registered address or name changed"),
        "certificateHold": _("the card was reported lost"),
        "cessationOfOperation": _("the holder was reported deceased"),
        "superseded": _("a newer certificate was issued"),
        "keyCompromise": _("the key may have been compromised"),
        "expired": _("the certificate expired"),
    }
    return labels.get(reason, reason or _("unspecified"))


def _origin() -> str:
    return str(getattr(settings, "ANCHORID_IDP_ORIGIN", "http://localhost:8001")).rstrip("/")


def send_emails(notice_ids: list[int]) -> int:
    """E-mail the given notices to residents with a verified contact address; returns how many were sent.

    A mail failure is logged and leaves ``emailed_at`` empty; the in-app notice stands either way.
    """
    if not notice_ids:
        return 0
    accounts = Notice.objects.filter(pk__in=notice_ids).values_list("account_id", flat=True)
    if not ContactEmail.objects.filter(account_id__in=list(accounts), verified_at__isnull=False).exists():
        return 0
    rows = list(
        Notice.objects.filter(
            pk__in=notice_ids, emailed_at__isnull=True, account__contact_email__verified_at__isnull=False
        ).select_related("account", "account__contact_email")
    )
    if not rows:
        return 0
    messages = []
    for notice in rows:
        with translation.override(notice.account.preferred_language or "ja"):
            subject = _("AnchorID: about your account")
            body = "\n\n".join(
                [describe(notice.kind, notice.reason), _("Details: %(url)s") % {"url": f"{_origin()}/me/"}]
            )
        messages.append(EmailMessage(subject, body, conf.notice_from_email(), [notice.account.contact_email.address]))
    try:
        connection = get_connection()
        sent = connection.send_messages(messages) or 0
    except OSError as error:
        log.warning("notice e-mails not sent (%s); the in-app notices stand", error.__class__.__name__)
        return 0
    Notice.objects.filter(pk__in=[notice.pk for notice in rows]).update(emailed_at=timezone.now())
    return int(sent)


# --- the contact address ------------------------------------------------------------------------------------


def request_verification(account: Account, address: str) -> ContactEmail:
    """Store ``address`` (unverified) and mail it a link that verifies it; replaces an earlier address."""
    contact, _created = ContactEmail.objects.update_or_create(
        account=account, defaults={"address": address, "verified_at": None, "requested_at": timezone.now()}
    )
    token = signing.dumps({"a": str(account.pk), "e": address}, salt=VERIFICATION_SALT)
    with translation.override(account.preferred_language or "ja"):
        subject = _("AnchorID: confirm your contact e-mail address")
        body = _("Open this link while logged in to AnchorID to confirm this address for notices:\n%(url)s") % {
            "url": f"{_origin()}/me/notices/email/confirm/{token}/"
        }
    EmailMessage(subject, body, conf.notice_from_email(), [address]).send()
    return contact


def confirm_verification(account: Account, token: str) -> bool:
    """Mark the contact address verified if ``token`` was mailed to it for this account (and is recent)."""
    try:
        data = signing.loads(token, salt=VERIFICATION_SALT, max_age=VERIFICATION_MAX_AGE)
    except signing.BadSignature:
        return False
    if not isinstance(data, dict) or data.get("a") != str(account.pk):
        return False
    return bool(
        ContactEmail.objects.filter(account=account, address=data.get("e"), verified_at__isnull=True).update(
            verified_at=timezone.now()
        )
        or ContactEmail.objects.filter(account=account, address=data.get("e"), verified_at__isnull=False).exists()
    )


def remove_contact(account: Account) -> None:
    ContactEmail.objects.filter(account=account).delete()
