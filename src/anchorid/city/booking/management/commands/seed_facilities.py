"""Seed the demo's facilities, slots and notices (``anchorid.city.booking.demo.seed_facilities``) into the city's
database, migrating it first. Idempotent. For the demo:
``ANCHORID_DATA_DIR=CITY_DATA DJANGO_SETTINGS_MODULE=anchorid.city.settings python -m django seed_facilities``.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from anchorid.city.booking.demo import seed_facilities


class Command(BaseCommand):
    help = "Seed demo facilities with slots for the next weeks, and city notices."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--weeks", type=int, default=6)

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        for line in seed_facilities(weeks=options["weeks"]):
            self.stdout.write(line)
