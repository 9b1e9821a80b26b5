"""One-time onboarding challenges: open, look up by cross-device code, consume exactly once.

The challenge the card signs is a short ASCII text naming its purpose and the idp's origin::

    anchorid-onboarding/1 https://id.example.jp 3q2-7wAAbG9...   (43 characters: 32 random bytes, base64url)

with one prefix per purpose (:data:`PREFIXES`: onboarding, card login, emergency stop, resumption), so a signature
made for it is useless anywhere else, and the card helper can check, before asking for the PIN, that it signs a
challenge of the origin it serves, and tell the resident which action it is (docs/protocols/card-helper.md).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import secrets
from dataclasses import dataclass

from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone

from anchorid.idp.onboarding import refusals
from anchorid.idp.onboarding.models import OnboardingChallenge
from anchorid.idp.onboarding.refusals import Refusal

CHALLENGE_PREFIX = "anchorid-onboarding/1"
#: The prefix of each purpose's challenge text (the card helper's ``prompts.CHALLENGE_ACTIONS``, inverted).
PREFIXES = {
    "onboarding": CHALLENGE_PREFIX,
    "card_login": "anchorid-card-login/1",
    "card_stop": "anchorid-card-stop/1",
    "card_resume": "anchorid-card-resume/1",
    "child_card": "anchorid-child-card/1",  # a child's card, signed with its user-authentication key (guardians)
}
CHALLENGE_BYTES = 32  # 256 bits
CHALLENGE_LIFETIME = datetime.timedelta(minutes=5)
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
MAX_CHALLENGE_LENGTH = 400
SESSION_BINDING_KEY = "anchorid.onboarding.binding"
#: Cross-device codes: 8 characters without look-alikes (no 0/O, 1/I/L), 40 bits, shown as XXXX-XXXX.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_PATTERN = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
#: Rows this much past their expiry are deleted when new challenges are opened.
KEEP_EXPIRED = datetime.timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class OpenedChallenge:
    row: OnboardingChallenge
    text: str
    code: str

    @property
    def display_code(self) -> str:
        return f"{self.code[:4]}-{self.code[4:]}"


def challenge_text(origin: str, nonce: str, purpose: str = "onboarding") -> str:
    return f"{PREFIXES[purpose]} {origin} {nonce}"


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def session_binding(session: SessionBase) -> str:
    """The hash of this browser session's binding secret (made on first use and kept in the session)."""
    secret = session.get(SESSION_BINDING_KEY)
    if not isinstance(secret, str):
        secret = secrets.token_urlsafe(32)
        session[SESSION_BINDING_KEY] = secret
    return _hash(secret)


def normalize_code(code: str) -> str:
    return code.replace("-", "").replace(" ", "").upper()


def open_challenge(
    session: SessionBase, origin: str, *, purpose: str = "onboarding", now: datetime.datetime | None = None
) -> OpenedChallenge:
    """A fresh challenge of ``purpose`` bound to ``session``, with a one-time code for the cross-device variant."""
    now = now or timezone.now()
    OnboardingChallenge.objects.filter(expires_at__lt=now - KEEP_EXPIRED).delete()
    nonce = base64.urlsafe_b64encode(secrets.token_bytes(CHALLENGE_BYTES)).rstrip(b"=").decode("ascii")
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    row = OnboardingChallenge.objects.create(
        nonce=nonce,
        session_binding=session_binding(session),
        code_hash=_hash(code),
        origin=origin,
        created_at=now,
        expires_at=now + CHALLENGE_LIFETIME,
    )
    return OpenedChallenge(row=row, text=challenge_text(origin, nonce, purpose), code=code)


def nonce_of(text: str, origin: str, purpose: str = "onboarding") -> str:
    """The random part of a challenge text of this origin and purpose; :class:`Refusal` ``malformed_request``
    otherwise (a signature the resident gave to log in cannot stop or resume an account, and so on)."""
    if not isinstance(text, str) or len(text) > MAX_CHALLENGE_LENGTH:
        raise Refusal(refusals.MALFORMED_REQUEST, "challenge missing or too long")
    parts = text.split(" ")
    if len(parts) != 3 or parts[0] != PREFIXES[purpose] or not NONCE_PATTERN.fullmatch(parts[2]):
        raise Refusal(refusals.MALFORMED_REQUEST, f"not a challenge for {purpose}")
    if parts[1] != origin:
        raise Refusal(refusals.CHALLENGE_UNKNOWN, "challenge of another origin")
    return parts[2]


def find_by_code(code: str, *, now: datetime.datetime | None = None) -> OnboardingChallenge:
    """The open challenge a cross-device code names (unused, unexpired); ``code_unknown`` otherwise."""
    now = now or timezone.now()
    normalized = normalize_code(code)
    if not CODE_PATTERN.fullmatch(normalized):
        raise Refusal(refusals.CODE_UNKNOWN, "malformed code")
    row = OnboardingChallenge.objects.filter(code_hash=_hash(normalized)).first()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise Refusal(refusals.CODE_UNKNOWN)
    return row


def consume(
    text: str,
    origin: str,
    *,
    binding: str | None = None,
    code: str | None = None,
    via: str,
    purpose: str = "onboarding",
    now: datetime.datetime | None = None,
) -> OnboardingChallenge:
    """Mark the challenge used, once. Bound either to the browser session (``binding``) or a cross-device code.

    Refusals: unknown, of another session (not consumed: a stranger cannot burn someone's challenge), replayed,
    expired. The row is locked while it is checked, so two concurrent submissions cannot both use it.
    """
    now = now or timezone.now()
    nonce = nonce_of(text, origin, purpose)
    with transaction.atomic():
        row = OnboardingChallenge.objects.select_for_update().filter(nonce=nonce).first()
        if row is None:
            raise Refusal(refusals.CHALLENGE_UNKNOWN)
        if code is not None:
            if row.code_hash != _hash(normalize_code(code)):
                raise Refusal(refusals.CODE_UNKNOWN, "the code names another challenge")
        elif binding is None or not secrets.compare_digest(row.session_binding, binding):
            raise Refusal(refusals.CHALLENGE_OTHER_SESSION)
        if row.used_at is not None:
            raise Refusal(refusals.CHALLENGE_REPLAYED)
        if row.expires_at <= now:
            raise Refusal(refusals.CHALLENGE_EXPIRED)
        row.used_at = now
        row.used_via = via
        row.save(update_fields=["used_at", "used_via"])
    return row


def record_result(row: OnboardingChallenge, outcome: str, *, account_id: object = None, refusal_code: str = "") -> None:
    """Keep the outcome on the row for the page polling a cross-device attempt (no personal data).

    A local attempt's session is logged in by the request itself: its result counts as delivered at once.
    """
    delivered_at = timezone.now() if row.used_via == "card" else None
    OnboardingChallenge.objects.filter(pk=row.pk).update(
        outcome=outcome, account_id=account_id, refusal_code=refusal_code, delivered_at=delivered_at
    )
