"""Using the card after onboarding: log in (or step up) with it, stop the account with it alone, resume with it.

One mechanism, onboarding's, end to end (docs/protocols/card-helper.md):

- the challenge: ``anchorid.idp.onboarding.challenges`` -- 256 bits, five minutes, single use, bound to this
  browser session; consumed with ``via`` naming what it was used for (``card_login``, ``card_stop``,
  ``card_resume``), so the row records the purpose;
- the card helper signs it after the resident types the signature password into the helper (never the page);
- the checks: ``verification.parse_submission`` and ``verification.verify_card_signature`` (signature over exactly
  this text, chain to the JPKI signature CA, OCSP at jlis, fail closed).

What differs from onboarding is what happens after: the certificate must be the *current anchor* of an account
(a renewed card is linked through onboarding's recovery, not here), and nothing about the person is stored.

Each purpose has its own challenge text (``anchorid-card-login/1``, ``anchorid-card-stop/1``,
``anchorid-card-resume/1``; ``challenges.PREFIXES``): the card helper tells the resident which action the card is
about to sign for, and the endpoint that consumes a challenge accepts only its own purpose's text, so a signature
given to log in cannot stop or resume an account.
"""

from __future__ import annotations

from django.contrib.sessions.backends.base import SessionBase
from django.utils.translation import gettext as _

from anchorid.idp.accounts.models import Account, AnchorCertificate
from anchorid.idp.onboarding import challenges
from anchorid.idp.onboarding.refusals import Refusal
from anchorid.idp.onboarding.verification import VerifiedCard, parse_submission, verify_card_signature

#: ``OnboardingChallenge.used_via`` for each use of the card after onboarding.
PURPOSES = ("card_login", "card_stop", "card_resume")


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


def open_challenge(session: SessionBase, origin: str, purpose: str) -> str:
    """A fresh challenge text of ``purpose`` bound to ``session`` for the card helper to sign."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown card purpose {purpose!r}")
    return challenges.open_challenge(session, origin, purpose=purpose).text


def verify(session: SessionBase, body: bytes, purpose: str, origin: str) -> VerifiedCard:
    """Parse the helper's answer, use up this session's challenge, run onboarding's certificate and signature checks."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown card purpose {purpose!r}")
    try:
        submission = parse_submission(body)
        challenges.consume(
            submission.challenge, origin, binding=challenges.session_binding(session), via=purpose, purpose=purpose
        )
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
