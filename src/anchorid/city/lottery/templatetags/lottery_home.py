"""``{% lottery_home city_user as lottery %}``: the lottery part of the resident home (my entries, open rounds)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from anchorid.city.booking.models import CityUser
from anchorid.city.lottery.models import Entry, LotteryRound

register = template.Library()


@register.simple_tag
def lottery_home(city_user: CityUser | None) -> dict[str, Any]:
    now = timezone.now()
    open_rounds = LotteryRound.objects.filter(
        committed_at__isnull=False, closed_at__isnull=True, entries_open_at__lte=now, entries_close_at__gt=now
    )[:5]
    entries: list[Entry] = []
    if city_user is not None and city_user.pk:
        entries = list(
            Entry.objects.filter(user=city_user, round__released_at__isnull=True)
            .select_related("round", "booking", "won_slot__slot__facility")
            .order_by("-created_at")[:20]
        )
    return {"open_rounds": list(open_rounds), "entries": entries}
