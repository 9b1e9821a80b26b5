"""What the city remembers about logins: which local session belongs to which idp session, so a back-channel
logout from the idp can end it, and which logout tokens were already used."""

from __future__ import annotations

from django.db import models


class ResidentSession(models.Model):
    """A local session opened by a login with AnchorID. No personal data: the pairwise ``sub`` and the idp's
    session id ``sid`` only (the claims live in the session itself)."""

    session_key = models.CharField(max_length=40, unique=True)
    sub = models.CharField(max_length=255, db_index=True)
    sid = models.CharField(max_length=255, db_index=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"session since {self.created_at:%Y-%m-%d %H:%M}"


class UsedLogoutToken(models.Model):
    """Back-Channel Logout 1.0 §2.6: a logout token's ``jti`` is accepted once (the unique constraint decides
    between two concurrent deliveries)."""

    jti = models.CharField(max_length=255, unique=True)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"logout token received {self.received_at:%Y-%m-%d %H:%M}"
