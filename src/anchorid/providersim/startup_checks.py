"""The sample providers' startup checks (``anchorid.common.startup``): ``anchorid serve providers`` refuses to start
when no provider has its relying-party configuration (``anchorid providers setup``), and warns about each one that
has none (``setup --only`` may set up a few)."""

from __future__ import annotations

from typing import Any

from django.core import checks

from anchorid.common.startup import register


def check_client_configurations(**kwargs: Any) -> list[checks.CheckMessage]:
    from anchorid.common.rp.startup_checks import client_configuration_problem
    from anchorid.common.settings_base import DATA_DIR
    from anchorid.providersim.customers import SETUP_COMMAND
    from anchorid.providersim.providers import SERVICES as PROVIDERS

    problems = {
        slug: client_configuration_problem(provider.data_dir(DATA_DIR), SETUP_COMMAND)
        for slug, provider in PROVIDERS.items()
    }
    missing = [f"{slug}: {problem}" for slug, problem in problems.items() if problem]
    if len(missing) == len(PROVIDERS):
        return [
            checks.Error(
                f"no sample provider has a relying-party configuration in {DATA_DIR}: run `{SETUP_COMMAND} --data "
                "DIR --idp IDP_URL` first",
                id="anchorid.providersim.E001",
            )
        ]
    return [checks.Warning(line, id="anchorid.providersim.W001") for line in missing]


def register_all() -> None:
    register(check_client_configurations)
