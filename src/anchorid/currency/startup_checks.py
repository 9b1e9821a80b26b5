"""``anchorid serve currency`` refuses to start without its relying-party configuration (``anchorid currency
setup``)."""

from __future__ import annotations

from typing import Any

from django.core import checks

from anchorid.common.startup import register


def check_client_configuration(**kwargs: Any) -> list[checks.CheckMessage]:
    from anchorid.common.rp.startup_checks import missing_configuration
    from anchorid.common.settings_base import DATA_DIR

    return [*missing_configuration(DATA_DIR, "anchorid currency setup", "anchorid.currency.E001", required=True)]


def register_all() -> None:
    register(check_client_configuration)
