"""Who is acting: a participant from the session — logged in with AnchorID (``sub`` + the claims released) or an
anonymous visitor with a pseudonym of this session only — and the keys the tables store instead of them.

Keys are HMAC-SHA256 under keys derived from the platform's secret key (``SECRET_KEY``; ``anchorid.common
.settings_base`` keeps it in the data folder), one derivation per use, so a support's key and a voter's key of the
same person differ, and nothing in the database is the idp's ``sub``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase

LOGIN_KEY = "participation_login"
PSEUDONYM_KEY = "participation_pseudonym"


def _derived(purpose: str) -> bytes:
    return _derived_under(settings.SECRET_KEY, purpose)


@functools.lru_cache(maxsize=32)
def _derived_under(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"anchorid.participation:{purpose}".encode(), hashlib.sha256).digest()


def keyed(purpose: str, value: str) -> str:
    return hmac.new(_derived(purpose), value.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Participant:
    """``assurance``: resident (``resident_of`` matches the process's municipality), anchorid, or anonymous."""

    subject: str  # "sub:<pairwise sub>" or "anon:<pseudonym>": never stored as is
    logged_in: bool
    claims: dict[str, Any]
    label: str

    def assurance(self, municipality_code: str) -> str:
        if not self.logged_in:
            return "anonymous"
        return "resident" if self.claims.get("resident_of") == municipality_code else "anchorid"

    def age_over_18(self) -> bool:
        return self.claims.get("age_over_18") is True

    def age_over(self, years: int) -> bool:
        """``age_over_15``/``age_over_18`` as released by the idp; someone over 18 is over 15 too."""
        if years == 15:
            return self.claims.get("age_over_15") is True or self.age_over_18()
        return years == 18 and self.age_over_18()

    @property
    def key(self) -> str:
        """The key of supports, comments, follows and notifications."""
        return keyed("participant", self.subject)

    def voter_key(self, process_id: int) -> str:
        """The key of the voter table, per process (a voter's rows in two processes do not share it)."""
        return keyed("voter", f"{process_id}:{self.subject}")

    def replace_tag(self, process_id: int) -> str:
        """The tag of this voter's ballot in a process (``Ballot.replace_tag``): another derivation than the voter
        key's, so the two tables share no value; computable only with the secret key and the voter's login."""
        return keyed("ballot-replace", f"{process_id}:{self.subject}")


def current(session: SessionBase) -> Participant | None:
    """The participant logged in with AnchorID, or the anonymous pseudonym of this session, or None (nobody yet)."""
    login = session.get(LOGIN_KEY)
    if login:
        sub = str(login["sub"])
        label = f"AnchorID-{keyed('label', sub)[:4]}"
        return Participant(subject=f"sub:{sub}", logged_in=True, claims=dict(login.get("claims", {})), label=label)
    pseudonym = session.get(PSEUDONYM_KEY)
    if pseudonym:
        return Participant(subject=f"anon:{pseudonym}", logged_in=False, claims={}, label=f"anon-{pseudonym[:4]}")
    return None


def anonymous(session: SessionBase) -> Participant:
    """The anonymous participant of this session, made on first use (no account: a random pseudonym)."""
    found = current(session)
    if found is not None:
        return found
    session[PSEUDONYM_KEY] = secrets.token_hex(8)
    session.save()
    found = current(session)
    assert found is not None
    return found
