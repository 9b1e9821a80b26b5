"""``{% counter_home city_user as counter %}``: what counter staff did for this resident, for the resident home."""

from __future__ import annotations

from typing import Any

from django import template

from anchorid.city.booking.models import CityUser
from anchorid.city.staff.models import CounterRegistration, ProxyAction

register = template.Library()


@register.simple_tag
def counter_home(city_user: CityUser | None) -> dict[str, Any]:
    if city_user is None or not city_user.pk:
        return {"actions": [], "registered": False}
    actions = list(ProxyAction.objects.filter(user=city_user).select_related("staff", "booking")[:50])
    registered = CounterRegistration.objects.filter(user=city_user).exists()
    return {"actions": actions, "registered": registered}
