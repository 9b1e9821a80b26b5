"""The city counter's confirmation of a guardian relation (when the resident register cannot confirm it, or the
guardian chooses the counter).

1. At home the guardian proves the child's card (the child's card step, as for J-LIS) and asks for the counter:
   :func:`open_request` keeps that card under a short code (valid :data:`LIFETIME`), shown on "My children".
2. At the counter, staff with the ``guardians.confirm_at_counter`` permission find the request by the code
   (:func:`find_request`), see the guardian's verified name and address, check the documents (e.g. 戸籍謄本,
   住民票の写し), type the child's four attributes from them and confirm (:func:`confirm`):
   :func:`anchorid.idp.guardians.service.confirm_at_counter` opens the child's account, the guardianship records
   the staff member's login and the documents checked.
"""

from __future__ import annotations

import datetime
import secrets

from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone

from anchorid.idp.accounts.models import Account
from anchorid.idp.guardians import service
from anchorid.idp.guardians.models import CounterRequest
from anchorid.jpki.attributes import BasicFourInfo

LIFETIME = datetime.timedelta(days=14)
#: No 0/O, 1/I/L: read aloud or typed from a phone's screen at the counter.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8

#: The documents counter staff may record as checked (stable keys; labels in the staff page).
DOCUMENTS = ("koseki", "juminhyo", "boshi_techo", "other_official")


def new_code() -> str:
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{code[:4]}-{code[4:]}"


def normalize(code: str) -> str:
    """What staff type: any case, with or without the hyphen or spaces."""
    plain = "".join(ch for ch in code.upper() if ch.isalnum())
    return f"{plain[:4]}-{plain[4:]}" if len(plain) == CODE_LENGTH else plain


def open_request(guardian: Account, session: SessionBase, *, now: datetime.datetime | None = None) -> CounterRequest:
    """The child's card this session proved, kept for the counter under a new code. Raises GuardianRefused."""
    now = now or timezone.now()
    card = service.ChildCard.from_session(session.get(service.SESSION_CHILD))
    service._guardian_may_act(guardian)
    if service.child_card_anchor(card) is not None:
        raise service.GuardianRefused("child_already_registered", "this card already has an account")
    request = CounterRequest.objects.create(code=new_code(), guardian=guardian, card=card.as_session(),
                                            created_at=now, expires_at=now + LIFETIME)  # fmt: skip
    return request


def pending(guardian: Account, *, now: datetime.datetime | None = None) -> list[CounterRequest]:
    now = now or timezone.now()
    return list(CounterRequest.objects.filter(guardian=guardian, used_at__isnull=True, expires_at__gt=now))


def find_request(code: str, *, now: datetime.datetime | None = None) -> CounterRequest:
    now = now or timezone.now()
    found = CounterRequest.objects.select_related("guardian").filter(code=normalize(code)).first()
    if found is None or found.used_at is not None or found.expires_at <= now:
        raise service.GuardianRefused("counter_code_invalid", "no open counter request has this code")
    return found


def confirm(code: str, info: BasicFourInfo, *, staff: str, documents: list[str]) -> Account:
    """Staff checked the documents: the child's account opens (service.confirm_at_counter), the request is used."""
    unknown = set(documents) - set(DOCUMENTS)
    if unknown or not documents:
        raise service.GuardianRefused("counter_record_incomplete", "name the documents checked")
    with transaction.atomic():
        request = find_request(code)
        request = CounterRequest.objects.select_for_update().get(pk=request.pk)
        child = service.confirm_at_counter(request.guardian, service.ChildCard.from_session(request.card), info,
                                           staff=staff, documents=documents)  # fmt: skip
        request.used_at, request.child = timezone.now(), child
        request.save(update_fields=["used_at", "child"])
    return child
