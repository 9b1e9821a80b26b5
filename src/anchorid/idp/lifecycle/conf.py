"""The watcher's settings (``anchorid.common.config``: a Django setting first, then the environment, then the
default).

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

from datetime import timedelta

from django.conf import settings

from anchorid.common import config


def max_check_age() -> timedelta:
    return timedelta(seconds=config.ANCHOR_MAX_CHECK_AGE.configured())


def sweep_interval() -> float:
    return config.SWEEP_INTERVAL.configured()


def lease_seconds() -> float:
    return config.SWEEP_LEASE.configured()


def retry_base() -> float:
    return config.SWEEP_RETRY_BASE.configured()


def retry_max() -> float:
    configured = config.SWEEP_RETRY_MAX.configured()
    return configured if configured is not None else max(sweep_interval(), retry_base())


def notice_from_email() -> str:
    return str(config.NOTICE_FROM_EMAIL.configured() or settings.DEFAULT_FROM_EMAIL)


def sweep_strategy() -> str:
    return config.SWEEP_STRATEGY.configured()
