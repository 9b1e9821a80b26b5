"""Expire tentative bookings past their payment deadline (and lottery wins past their confirmation deadline).

The city's worker does this every minute (its ``booking-expiry`` job, ``anchorid.city.jobs``); this command does it
by hand: ``ANCHORID_DATA_DIR=... DJANGO_SETTINGS_MODULE=anchorid.city.settings django-admin expire_bookings``.
Pages also expire what they touch, so a missed run never lets an unpaid booking hold a slot.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from anchorid.city.booking.service import expire_overdue


class Command(BaseCommand):
    help = "Expire tentative bookings past their payment deadline."

    def handle(self, *args: Any, **options: Any) -> None:
        expired = expire_overdue()
        self.stdout.write(f"{expired} booking(s) expired")
