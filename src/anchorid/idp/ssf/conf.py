"""The transmitter's settings (``anchorid.common.config``): a Django setting ``ANCHORID_SSF_*`` first, else the
environment, else the default declared there."""

from __future__ import annotations

from anchorid.common import config


def allow_insecure_http() -> bool:
    """Push endpoints may use http (tests, the local demo)."""
    return config.SSF_ALLOW_INSECURE_HTTP.configured()


def allow_private_networks() -> bool:
    """Push endpoints may resolve to private, loopback or link-local addresses (tests, the local demo)."""
    return config.SSF_ALLOW_PRIVATE_NETWORKS.configured()


def push_allowed_hosts() -> set[str]:
    """Host names whose addresses are not checked (an operator's allow-list, e.g. a receiver on the LAN)."""
    return {host.strip().lower().rstrip(".") for host in config.SSF_PUSH_ALLOWED_HOSTS.configured() if host.strip()}


def dead_letter_after() -> float:
    """Seconds after its creation when an undelivered SET is given up (dead-lettered). Default 3 days."""
    return float(config.SSF_DEAD_LETTER_AFTER.configured())


def retry_base() -> float:
    """First retry delay in seconds; doubled per attempt (with jitter) up to ``retry_max``."""
    return float(config.SSF_RETRY_BASE.configured())


def retry_max() -> float:
    return float(config.SSF_RETRY_MAX.configured())


def push_timeout() -> float:
    return float(config.SSF_PUSH_TIMEOUT.configured())


def lease_seconds() -> float:
    """How long a worker holds the rows it claimed; a killed worker's rows are due again after this."""
    return float(config.SSF_LEASE_SECONDS.configured())


def long_poll_seconds() -> float:
    """How long a poll request waits for a SET when it does not ask to return immediately."""
    return float(config.SSF_LONG_POLL_SECONDS.configured())


def worker_enabled() -> bool:
    """Whether ``anchorid serve idp`` runs the delivery worker thread (default yes)."""
    return config.SSF_WORKER.configured()


def worker_threads() -> int:
    """The delivery worker's threads (at least one)."""
    return max(1, int(config.SSF_WORKER_THREADS.configured()))


def backchannel_logout_give_up() -> float:
    """Seconds after which an undelivered back-channel logout is given up."""
    return float(config.BACKCHANNEL_LOGOUT_GIVE_UP.configured())
