"""The library's background job (``anchorid.common.worker``), under its lease:

- ``circulation``: end loans past their due time (access already stops at that moment: every content request checks
  it), expire holds not collected within their pickup days, offer freed copies to the next hold, and retire
  licences past their term (``ANCHORID_LIBRARY_CIRCULATION_SECONDS``, default 60; 0 off).
"""

from __future__ import annotations

import logging

from anchorid.common import config
from anchorid.common.worker.registry import Job

log = logging.getLogger(__name__)


def run_circulation() -> None:
    from anchorid.library.circulation import sweep

    done = sweep()
    if any(done.values()):
        log.info("circulation: %s", ", ".join(f"{name} {count}" for name, count in done.items()))


def jobs() -> list[Job]:
    return [Job("circulation", config.LIBRARY_CIRCULATION_SECONDS.value(), run_circulation)]
