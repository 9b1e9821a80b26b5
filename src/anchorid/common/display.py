"""The one formatter for what residents and staff read: amounts of money and dates/times, locale-aware.

- :func:`yen`: ``1,200円`` in Japanese, ``¥1,200`` in English (thousands separated, whole yen).
- :func:`when` / :func:`day`: a date-time / date in the current language's format (``2026年12月7日 14:31`` /
  ``7 Dec 2026, 14:31``; formats in anchorid/common/formats, set by FORMAT_MODULE_PATH).
- :func:`page_title`: ``page | site`` (the site name alone when the page has no title or the same one).

Templates load them as filters: ``{% load anchorid_display %}`` then ``{{ fee|yen }}``, ``{{ t|when }}``.
"""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext

SEPARATOR = " | "


def yen(amount: int | str | None) -> str:
    """A whole number of yen as the current language writes it; anything that is not a number as it is."""
    try:
        value = int(amount)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "" if amount is None else str(amount)
    digits = f"{abs(value):,}"
    sign = "-" if value < 0 else ""
    if (get_language() or "ja").startswith("ja"):
        return f"{sign}{digits}円"
    return f"{sign}¥{digits}"


def when(value: datetime.datetime | None) -> str:
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return date_format(value, "SHORT_DATETIME_FORMAT")


def day(value: datetime.date | None) -> str:
    return "" if value is None else date_format(value, "DATE_FORMAT")


def page_title(title: str, site: str) -> str:
    title, site = " ".join(str(title).split()), str(site)  # a lazy translation would render as a proxy
    return site if not title or title == site else f"{title}{SEPARATOR}{site}"


def local(obj: object, field: str = "name") -> str:
    """``obj.<field>_en`` in English, ``obj.<field>_ja`` otherwise (the Japanese one when no English is set)."""
    language = "en" if (get_language() or "ja").startswith("en") else "ja"
    value = getattr(obj, f"{field}_{language}", "") or getattr(obj, f"{field}_ja", "")
    return str(value or "")


def listing(items: object) -> str:
    """Items joined as the current language lists them: 「A、B」 in Japanese, "A, B" in English."""
    separator = ", " if (get_language() or "ja").startswith("en") else "、"
    return separator.join(str(item) for item in items)  # type: ignore[attr-defined]


def gender(value: object) -> str:
    """A gender as a resident reads it, in the page's language: the OIDC claim value (``female``), the card's
    code (``2``) or a :class:`anchorid.jpki.Gender`; anything else as it is."""
    code = str(getattr(value, "value", value)).strip().lower()
    labels = {
        "male": gettext("Male"), "1": gettext("Male"),
        "female": gettext("Female"), "2": gettext("Female"),
        "not_known": gettext("Not stated"), "3": gettext("Not stated"),
    }  # fmt: skip
    return labels.get(code, "" if value is None else str(value))
