"""The booking part of the resident home: my bookings, eligibility and city notices for the logged-in resident."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from anchorid.city.booking import rules, service
from anchorid.city.booking.eligibility import eligibility
from anchorid.city.booking.models import Booking, CityUser, Notice


def notices_for(claims: dict[str, Any] | None) -> list[Notice]:
    """Published notices the reader concerns: everyone's; residents' when the verified residence is the city;
    the 65-or-older ones when ``age_over_65`` is also true."""
    audiences = [Notice.Audience.EVERYONE]
    if claims and rules.is_resident(claims):
        audiences.append(Notice.Audience.RESIDENTS)
        if claims.get("age_over_65") is True:
            audiences.append(Notice.Audience.OVER_65)
    return list(Notice.objects.filter(audience__in=audiences, published_at__lte=timezone.now())[:10])


def home_context(claims: dict[str, Any] | None) -> dict[str, Any]:
    """Context for ``booking/home_block.html``; the booking user is registered from the claims if new."""
    if not claims or "sub" not in claims:
        return {"notices": notices_for(None)}
    user = CityUser.objects.filter(sub=str(claims["sub"])).first() or service.user_from_claims(claims)
    service.expire_overdue(bookings=Booking.objects.filter(user=user))
    current = Q(slot__ends_at__gte=timezone.now()) | Q(status__in=Booking.ACTIVE)
    bookings = list(service.bookings_of(user).filter(current)[:20])
    return {
        "city_user": user,
        "my_bookings": bookings,
        "eligibility": eligibility(claims),
        "notices": notices_for(claims),
    }
