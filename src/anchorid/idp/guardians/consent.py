"""The consent screen of a child under a full guardianship goes to the guardian (docs/guardians.md)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from anchorid.idp.accounts.models import Account
from anchorid.idp.oidc.claims import RequestedClaims
from anchorid.idp.oidc.models import Client


def guardian_consent(
    request: HttpRequest, account: Account, client: Client, requested: RequestedClaims
) -> HttpResponse | None:
    """None for everyone but a child whose guardian decides; for them, a pending approval and the waiting page."""
    from anchorid.idp.guardians.service import full_guardian_of, request_approval

    if not full_guardian_of(account):
        return None
    request_approval(account, client, dict(requested.essential))
    return render(request, "guardians/waiting.html", {"client": client}, status=403)
