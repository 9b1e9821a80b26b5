"""``{{ claim|claim_label }}``: a claim's name as residents read it."""

from __future__ import annotations

from django import template

from anchorid.idp.oidc.presentation import claim_label as label_of

register = template.Library()


@register.filter
def claim_label(claim: str) -> str:
    return label_of(claim)
