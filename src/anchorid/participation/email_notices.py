"""E-mail notifications, opt-in: a participant may give an address on the notifications page; a link sent to it
verifies it (valid for a day, the token stored hashed); from then on the in-app notifications to them (new comments
on what they follow, threshold reached, progress, merges, hidden posts) are also sent there, after the transaction
that made them commits. Nobody is asked for an address to take part; removing it is one button.

The address is personal data: its own table (``EmailAddress``), keyed by the participant key, never in the open
data, logs or any page but its owner's notifications page."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anchorid.participation.identity import Participant
from anchorid.participation.models import EmailAddress
from anchorid.participation.service import Invalid

VERIFY_FOR = timedelta(days=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _origin() -> str:
    return str(getattr(settings, "ANCHORID_PARTICIPATION_ORIGIN", "")).rstrip("/")


def give(participant: Participant, address: str) -> None:
    """Store (or replace) the participant's address, unverified, and send it the verification link."""
    address = (address or "").strip()
    try:
        if len(address) > 254:
            raise ValidationError("too long")
        validate_email(address)
    except ValidationError:
        raise Invalid(_("This is not an e-mail address.")) from None
    token = secrets.token_urlsafe(24)
    EmailAddress.objects.update_or_create(
        participant_key=participant.key,
        defaults={"address": address, "token_hash": _hash(token), "token_expires": timezone.now() + VERIFY_FOR,
                  "verified": False},
    )  # fmt: skip
    link = f"{_origin()}/notifications/email/verify/{token}/"
    body = _("Open this link to receive the participation platform's notifications at this address:\n%(link)s\n\n"
             "If you did not ask for this, ignore this message: nothing will be sent.") % {"link": link}  # fmt: skip
    transaction.on_commit(lambda: send_mail(_("Confirm your e-mail address"), body, None, [address],
                                            fail_silently=True))  # fmt: skip


def verify(token: str) -> bool:
    """Mark the address whose link this is as verified; False for an unknown, used or expired link."""
    if not token or len(token) > 100:
        return False
    return bool(
        EmailAddress.objects.filter(token_hash=_hash(token), token_expires__gt=timezone.now(), verified=False).update(
            verified=True, token_hash="", token_expires=None
        )
    )


def remove(participant: Participant) -> None:
    EmailAddress.objects.filter(participant_key=participant.key).delete()


def mine(participant: Participant | None) -> EmailAddress | None:
    if participant is None:
        return None
    return EmailAddress.objects.filter(participant_key=participant.key).first()


def send(keys: set[str], text: str, link: str) -> None:
    """The notification ``text`` to each of ``keys`` with a verified address, once the transaction commits."""
    verified = EmailAddress.objects.filter(participant_key__in=keys, verified=True)
    addresses = list(verified.values_list("address", flat=True))
    if not addresses:
        return
    body = f"{text}\n\n{_origin()}{link}\n\n" + _("You receive this because you asked for notifications by e-mail. "
                                                   "Stop them on the notifications page.")  # fmt: skip
    subject = _("Participation platform: %(text)s") % {"text": text[:60]}

    def mail(address: str) -> None:
        send_mail(subject, body, None, [address], fail_silently=True)

    for address in addresses:  # one message each: no recipient sees another's address
        transaction.on_commit(functools.partial(mail, address))
