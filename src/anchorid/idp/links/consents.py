"""The resident's link consents: give, find, withdraw (audit-logged: ids and scope names, never data)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from anchorid.idp.accounts.models import Account
from anchorid.idp.audit.chain import append
from anchorid.idp.audit.events import EventType
from anchorid.idp.links.models import LinkConsent, LinkOffer
from anchorid.idp.oidc.consent import _audit_id as audit_id


def live_consent(account: Account, offer: LinkOffer) -> LinkConsent | None:
    return (
        LinkConsent.objects.filter(
            account=account, offer=offer, withdrawn_at__isnull=True, expires_at__gt=timezone.now()
        )
        .order_by("-granted_at")
        .first()
    )


def grant(account: Account, offer: LinkOffer) -> LinkConsent:
    """The resident said yes to ``offer``: a consent with a snapshot of what they were shown (or the live one)."""
    with transaction.atomic():
        existing = live_consent(account, offer)
        if existing is not None:
            return existing
        now = timezone.now()
        consent = LinkConsent.objects.create(
            id=secrets.token_hex(16),
            account=account,
            offer=offer,
            source_id=offer.source_id,
            target_id=offer.target_id,
            scopes=list(offer.scopes),
            authorization_details=list(offer.authorization_details),
            purpose_ja=offer.purpose_ja,
            purpose_en=offer.purpose_en,
            further_exchange=offer.further_exchange,
            granted_at=now,
            expires_at=now + timedelta(days=offer.days),
        )
        append(
            EventType.LINK_GRANTED,
            subject=str(account.pk),
            actor=str(account.pk),
            details={
                "link_id": consent.id,
                "offer_id": offer.id,
                "client_id": audit_id(offer.source_id),
                "target_id": audit_id(offer.target_id),
                "scopes": list(consent.scopes),
            },
        )
    return consent


def withdraw(account: Account, link_id: str) -> LinkConsent | None:
    """Withdraw one of the resident's links: the next exchange is refused and every token issued under it is
    inactive at introspection from now on. None when it is not theirs or already withdrawn."""
    with transaction.atomic():
        consent = (
            LinkConsent.objects.select_for_update()
            .filter(id=link_id, account=account, withdrawn_at__isnull=True)
            .first()
        )
        if consent is None:
            return None
        consent.withdrawn_at = timezone.now()
        consent.save(update_fields=["withdrawn_at"])
        append(
            EventType.LINK_WITHDRAWN,
            subject=str(account.pk),
            actor=str(account.pk),
            details={
                "link_id": consent.id,
                "offer_id": consent.offer_id,
                "client_id": audit_id(consent.source_id),
                "target_id": audit_id(consent.target_id),
                "scopes": list(consent.scopes),
            },
        )
    return consent
