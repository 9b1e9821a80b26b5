"""Template filters of anchorid.common.display: ``yen``, ``when``, ``day``, ``page_title``."""

from __future__ import annotations

from django import template
from django.forms import BoundField

from anchorid.common import display

register = template.Library()
register.filter("yen", display.yen)
register.filter("when", display.when)
register.filter("day", display.day)
register.filter("page_title", display.page_title)
register.filter("local", display.local)


@register.filter
def described(field: BoundField) -> str:
    """The field's widget tied to its help text and its errors (``aria-describedby``: ``<id>_helptext``,
    ``<id>_error``; ``aria-invalid`` when it has errors), for templates that print the help and errors with those
    ids."""
    ids = [f"{field.auto_id}_helptext"] if field.help_text else []
    if field.errors:
        ids.append(f"{field.auto_id}_error")
    attrs: dict[str, str | bool] = {"aria-describedby": " ".join(ids)} if ids else {}
    return str(field.as_widget(attrs=attrs))


register.filter("listing", display.listing)
