"""Where a party's server processes keep their Prometheus metrics (prometheus_client's multiprocess mode).

Granian serves a party with several worker processes, and the idp's background work runs in a process of its own:
each counts into memory-mapped files of its own under ``DATA/metrics`` (``PROMETHEUS_MULTIPROC_DIR``), and
``/metrics`` adds them up (``anchorid.common.metrics``). ``anchorid serve`` empties the folder when it starts (the
counters of an earlier run would otherwise be added to this run's: Prometheus sees the restart as a counter reset)
and sets the variable *before* prometheus_client is imported, which is when the library chooses its storage.

No prometheus_client import here, for that reason.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from anchorid.common.datafiles import DIR_MODE, restrict_new_files

ENVIRONMENT_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
FOLDER = "metrics"


def prepare(data_dir: Path, *, clean: bool) -> Path:
    """Make ``DATA/metrics`` (emptied when ``clean``: a server starting) and point prometheus_client at it."""
    restrict_new_files()  # the data folder itself may be made here: 0700 from the start
    folder = data_dir.resolve() / FOLDER
    if clean and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.environ[ENVIRONMENT_VARIABLE] = str(folder)
    return folder
