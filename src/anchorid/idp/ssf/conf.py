"""The transmitter's settings: Django settings ``ANCHORID_SSF_*`` first, else the environment, else defaults."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings


def _value(name: str, default: str) -> str:
    configured: Any = getattr(settings, name, None)
    return str(configured) if configured is not None else os.environ.get(name, default)


def _flag(name: str) -> bool:
    return _value(name, "0").strip().lower() in ("1", "true", "yes", "on")


def allow_insecure_http() -> bool:
    """Push endpoints may use http (tests, the local demo)."""
    return _flag("ANCHORID_SSF_ALLOW_INSECURE_HTTP")


def allow_private_networks() -> bool:
    """Push endpoints may resolve to private, loopback or link-local addresses (tests, the local demo)."""
    return _flag("ANCHORID_SSF_ALLOW_PRIVATE_NETWORKS")


def push_allowed_hosts() -> set[str]:
    """Host names whose addresses are not checked (an operator's allow-list, e.g. a receiver on the LAN)."""
    raw = _value("ANCHORID_SSF_PUSH_ALLOWED_HOSTS", "")
    return {host.strip().lower().rstrip(".") for host in raw.split(",") if host.strip()}


def dead_letter_after() -> float:
    """Seconds after its creation when an undelivered SET is given up (dead-lettered). Default 3 days."""
    return float(_value("ANCHORID_SSF_DEAD_LETTER_AFTER", str(3 * 24 * 3600)))


def retry_base() -> float:
    """First retry delay in seconds; doubled per attempt (with jitter) up to ``retry_max``."""
    return float(_value("ANCHORID_SSF_RETRY_BASE", "2"))


def retry_max() -> float:
    return float(_value("ANCHORID_SSF_RETRY_MAX", "600"))


def push_timeout() -> float:
    return float(_value("ANCHORID_SSF_PUSH_TIMEOUT", "10"))


def lease_seconds() -> float:
    """How long a worker holds the rows it claimed; a killed worker's rows are due again after this."""
    return float(_value("ANCHORID_SSF_LEASE_SECONDS", "60"))


def worker_enabled() -> bool:
    """Whether ``anchorid serve idp`` runs the delivery worker thread (default yes)."""
    return _value("ANCHORID_SSF_WORKER", "1").strip().lower() not in ("0", "false", "no", "off")
