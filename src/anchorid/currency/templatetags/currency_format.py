"""``{{ amount|yen }}``: whole yen with thousands separators (no common formatter for amounts exists yet)."""

from django import template

register = template.Library()


@register.filter
def yen(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        return ""
    return f"{value:,}"
