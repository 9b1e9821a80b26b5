"""jlis's startup checks (``anchorid.common.startup``): ``anchorid serve jlis`` refuses to start without a CA
passphrase (``ANCHORID_JLIS_CA_PASSPHRASE``), with one that does not open the CA keys already in the folder, or
while the database still names CA key files of an earlier version (``anchorid jlis upgrade-keys``)."""

from __future__ import annotations

from typing import Any

from django.core import checks

from anchorid.common.startup import register


def check_ca_keys(**kwargs: Any) -> list[checks.CheckMessage]:
    from anchorid.jlis.keystore import check_keys_open, passphrase_problem

    problem = passphrase_problem()
    if problem:
        return [checks.Error(problem, id="anchorid.jlis.E001")]
    problem = check_keys_open()
    if problem:
        return [checks.Error(problem, id="anchorid.jlis.E002")]
    return []


def register_all() -> None:
    register(check_ca_keys)
