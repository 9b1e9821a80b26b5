"""The watcher's settings (Django settings first, then the environment, then the default).

- ``ANCHORID_ANCHOR_MAX_CHECK_AGE``: seconds after which a login checks the anchor at jlis's OCSP responder
  (default 86400: a day, J-LIS's CRL period);
- ``ANCHORID_SWEEP_INTERVAL``: seconds between scheduled sweeps (default 3600; 0 turns the runner thread off);
- ``ANCHORID_SWEEP_LEASE``: seconds a runner's lease on a job lasts before another may take it over (default 600);
- ``ANCHORID_SWEEP_RETRY_BASE`` / ``ANCHORID_SWEEP_RETRY_MAX``: the backoff after a failed sweep, doubling from
  the base (default 60) up to the maximum (default: the sweep interval), with ±20 % jitter;
- ``ANCHORID_SWEEP_STRATEGY``: ``auto`` (default), ``stream`` or ``probe`` -- how the sweep finds the listed anchors;
- ``ANCHORID_NOTICE_FROM_EMAIL``: sender of notice e-mails (default Django's ``DEFAULT_FROM_EMAIL``).
"""

from __future__ import annotations

import os
from datetime import timedelta

from django.conf import settings


def _number(name: str, default: float) -> float:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number of seconds, not {value!r}") from None


def max_check_age() -> timedelta:
    return timedelta(seconds=_number("ANCHORID_ANCHOR_MAX_CHECK_AGE", 86400))


def sweep_interval() -> float:
    return _number("ANCHORID_SWEEP_INTERVAL", 3600)


def lease_seconds() -> float:
    return _number("ANCHORID_SWEEP_LEASE", 600)


def retry_base() -> float:
    return _number("ANCHORID_SWEEP_RETRY_BASE", 60)


def retry_max() -> float:
    return _number("ANCHORID_SWEEP_RETRY_MAX", max(sweep_interval(), retry_base()))


def notice_from_email() -> str:
    return str(getattr(settings, "ANCHORID_NOTICE_FROM_EMAIL", "") or settings.DEFAULT_FROM_EMAIL)


def sweep_strategy() -> str:
    value = getattr(settings, "ANCHORID_SWEEP_STRATEGY", None) or os.environ.get("ANCHORID_SWEEP_STRATEGY")
    return str(value or "auto")
