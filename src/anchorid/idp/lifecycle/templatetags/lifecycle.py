"""``{% lifecycle_panel account %}``: the lifecycle section of /me/ (notices, contact e-mail, refresh consent)."""

from __future__ import annotations

from typing import Any

from django import template

from anchorid.idp.lifecycle import consent, notices
from anchorid.idp.lifecycle.models import ContactEmail

register = template.Library()


@register.inclusion_tag("lifecycle/_panel.html")
def lifecycle_panel(account: Any) -> dict[str, Any]:
    return {
        "notices": [(notice, notices.describe(notice.kind, notice.reason)) for notice in notices.unread(account)],
        "contact": ContactEmail.objects.filter(account=account).first(),
        "standing": consent.standing(account),
    }
