"""Using the card after onboarding: log in (or step up) with it, stop the account with it alone, resume with it.

The card helper signs a one-time challenge exactly as in onboarding (docs/protocols/card-helper.md); the
signature and the certificate are checked by onboarding's own functions (``verification.parse_submission`` and
``verification.verify_card_signature``: signature over exactly this text, chain to the JPKI signature CA, OCSP at
jlis, fail closed), so there is one implementation of those checks. What differs is the challenge text:

    anchorid-login/1 <origin> <nonce>     anchorid-stop/1 <origin> <nonce>     anchorid-resume/1 <origin> <nonce>

and what happens after: the certificate must be the *current anchor* of an account (a renewed card is linked
through onboarding's recovery, not here).
"""

from __future__ import annotations

import base64
import datetime
import re
import secrets

from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anchorid.idp.accounts.models import Account, AnchorCertificate
from anchorid.idp.login.models import CardChallenge
from anchorid.idp.onboarding import challenges as onboarding_challenges
from anchorid.idp.onboarding.refusals import Refusal
from anchorid.idp.onboarding.verification import VerifiedCard, parse_submission, verify_card_signature

PREFIXES: dict[str, str] = {
    CardChallenge.Purpose.LOGIN: "anchorid-login/1",
    CardChallenge.Purpose.STOP: "anchorid-stop/1",
    CardChallenge.Purpose.RESUME: "anchorid-resume/1",
}
CHALLENGE_BYTES = 32
CHALLENGE_LIFETIME = datetime.timedelta(minutes=5)
KEEP_EXPIRED = datetime.timedelta(hours=1)
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
MAX_CHALLENGE_LENGTH = 400


class CardRefused(Exception):
    """A card login, stop or resumption was refused; nothing changed. ``code`` is stable, ``message`` translated."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    @classmethod
    def from_refusal(cls, refusal: Refusal) -> CardRefused:
        return cls(refusal.code, refusal.message, refusal.status)

    def as_json(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


def challenge_text(purpose: str, origin: str, nonce: str) -> str:
    return f"{PREFIXES[purpose]} {origin} {nonce}"


def open_challenge(session: SessionBase, purpose: str, origin: str) -> str:
    now = timezone.now()
    CardChallenge.objects.filter(expires_at__lt=now - KEEP_EXPIRED).delete()
    nonce = base64.urlsafe_b64encode(secrets.token_bytes(CHALLENGE_BYTES)).rstrip(b"=").decode("ascii")
    CardChallenge.objects.create(
        nonce=nonce,
        purpose=purpose,
        session_binding=onboarding_challenges.session_binding(session),
        origin=origin,
        created_at=now,
        expires_at=now + CHALLENGE_LIFETIME,
    )
    return challenge_text(purpose, origin, nonce)


def _expired() -> CardRefused:
    return CardRefused(
        "challenge_expired", _("This attempt expired (after 5 minutes). Reload the page and try again."), 410
    )


def consume_challenge(session: SessionBase, text: str, purpose: str, origin: str) -> None:
    """Mark this session's challenge used, once; refuses another purpose, origin or session, a replay, expiry."""
    parts = text.split(" ") if isinstance(text, str) and len(text) <= MAX_CHALLENGE_LENGTH else []
    if len(parts) != 3 or parts[0] != PREFIXES[purpose] or not NONCE_PATTERN.fullmatch(parts[2]):
        raise CardRefused("malformed_request", _("The card signed something else than this page asked for."))
    if parts[1] != origin:
        raise CardRefused("challenge_unknown", _("This attempt is unknown. Reload the page and try again."))
    binding = onboarding_challenges.session_binding(session)
    now = timezone.now()
    with transaction.atomic():
        row = CardChallenge.objects.select_for_update().filter(nonce=parts[2], purpose=purpose).first()
        if row is None:
            raise CardRefused("challenge_unknown", _("This attempt is unknown. Reload the page and try again."))
        if not secrets.compare_digest(row.session_binding, binding):
            raise CardRefused(
                "challenge_other_session",
                _("This attempt belongs to another browser. Start again from this browser."),
                403,
            )
        if row.used_at is not None:
            raise CardRefused(
                "challenge_replayed", _("This attempt was already used. Reload the page and try again."), 409
            )
        if row.expires_at <= now:
            raise _expired()
        row.used_at = now
        row.save(update_fields=["used_at"])


def verify(session: SessionBase, body: bytes, purpose: str, origin: str) -> VerifiedCard:
    """Parse the helper's answer, use up the challenge, check the signature and certificate (onboarding's checks)."""
    try:
        submission = parse_submission(body)
    except Refusal as refusal:
        raise CardRefused.from_refusal(refusal) from None
    consume_challenge(session, submission.challenge, purpose, origin)
    try:
        return verify_card_signature(submission)
    except Refusal as refusal:
        raise CardRefused.from_refusal(refusal) from None


def account_for(verified: VerifiedCard) -> Account:
    """The account this certificate currently anchors; refuses an unknown card and a deleted account."""
    anchor = (
        AnchorCertificate.objects.select_related("account")
        .filter(issuer_fingerprint=verified.issuer_fingerprint, serial=str(verified.serial), current=True)
        .first()
    )
    if anchor is None or anchor.account.status == Account.Status.DELETED:
        raise CardRefused(
            "card_not_registered",
            _(
                "This card is not registered with AnchorID. Register first; if you renewed your card or "
                "certificate, register again with it and your account will be found."
            ),
            404,
        )
    return anchor.account
