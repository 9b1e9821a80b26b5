"""The library's startup checks: ``anchorid serve library`` refuses to start without its relying-party
configuration and keys (``anchorid library setup``)."""

from __future__ import annotations

from typing import Any

from django.core import checks

from anchorid.common.startup import register

SETUP_COMMAND = "anchorid library setup"


def check_client_configuration(**kwargs: Any) -> list[checks.CheckMessage]:
    from anchorid.common.rp.startup_checks import missing_configuration
    from anchorid.common.settings_base import DATA_DIR

    return [*missing_configuration(DATA_DIR, SETUP_COMMAND, "anchorid.library.E001", required=True)]


def register_all() -> None:
    register(check_client_configuration)
