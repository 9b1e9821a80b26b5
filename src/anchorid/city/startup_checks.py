"""The city's startup checks (``anchorid.common.startup``): ``anchorid serve city`` refuses to start without its
relying-party configuration and keys (``anchorid city setup``); the departments' own registration (``anchorid city
departments-setup``) is optional, so its absence is a warning."""

from __future__ import annotations

from typing import Any

from django.core import checks

from anchorid.common.startup import register


def check_client_configuration(**kwargs: Any) -> list[checks.CheckMessage]:
    from anchorid.city.departments import setup as departments
    from anchorid.common.rp.startup_checks import missing_configuration
    from anchorid.common.settings_base import DATA_DIR

    return [
        *missing_configuration(DATA_DIR, "anchorid city setup", "anchorid.city.E001", required=True),
        *missing_configuration(
            departments.folder(DATA_DIR), departments.SETUP_COMMAND, "anchorid.city.W001", required=False
        ),
    ]


def register_all() -> None:
    register(check_client_configuration)
