"""Read replicas: the read-only paths read from a streaming replica, everything else from the primary.

With ``DATABASE_REPLICA_URL`` set (beside ``DATABASE_URL``), a party has a second database alias, ``replica``: a
PostgreSQL hot standby of its database (``pg_basebackup -R``, streaming replication). Without it nothing changes:
the router is not installed and every query goes to ``default``, as before (docs/decisions.md, D26).

What goes to the replica: only reads made while answering a request to one of the party's *read-only paths*
(:data:`READ_ONLY_PATHS`: OIDC discovery, the JWKS, OCSP, CRLs, CA certificates, the facility catalogue), and only
while all of these hold (read-your-writes safety):

- nothing has been written during this request (the router has not been asked for a database to write to: code
  that writes with raw SQL asks ``router.db_for_write`` for its alias, as ``ratelimit`` does), and the primary
  connection is not inside a transaction (a read inside ``transaction.atomic`` belongs with it);
- the browser did not write within the last ``ANCHORID_REPLICA_PIN_SECONDS`` seconds: a request that wrote
  answers with a short-lived cookie (:data:`PIN_COOKIE`), and a request carrying it reads from the primary, so a
  resident never reads a catalogue page older than their own booking;
- the replica answers: a failed connection (or failed health check) marks it down for
  ``ANCHORID_REPLICA_RETRY_SECONDS`` seconds, and reads go to the primary meanwhile.

Reads outside a request (background work, management commands) and every write always go to the primary.
Migrations run on the primary only (a standby replays them). The replica can lag by the replication delay
(milliseconds on one network): a read-only path may show the state of a few milliseconds ago, as an HTTP cache in
front of it would for much longer (discovery, JWKS, OCSP and CRLs are all sent cacheable).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse

PRIMARY = "default"
REPLICA = "replica"
#: The cookie that keeps a browser that just wrote on the primary for a few seconds.
PIN_COOKIE = "anchorid_read_primary"
SAFE_METHODS = frozenset({"GET", "HEAD"})

#: Per party: (path prefix, or the whole path when it ends in $; methods) answered from the replica. Only views
#: that read and never need to see a write made a moment ago by the same client belong here. OCSP is a read also
#: when POSTed (RFC 6960 Appendix A.1).
READ_ONLY_PATHS: dict[str, tuple[tuple[str, frozenset[str]], ...]] = {
    "idp": (
        ("/.well-known/openid-configuration", SAFE_METHODS),
        ("/.well-known/oauth-authorization-server", SAFE_METHODS),
        ("/oidc/jwks", SAFE_METHODS),
        ("/pki/ocsp", SAFE_METHODS | {"POST"}),
        ("/pki/", SAFE_METHODS),  # root and issuing CRLs, the responder certificate, TSA CRLs
        ("/signing/trust", SAFE_METHODS),
    ),
    "jlis": (
        ("/ocsp/", SAFE_METHODS | {"POST"}),
        ("/crl/", SAFE_METHODS),
        ("/ca/", SAFE_METHODS),
    ),
    "city": (
        # The facility catalogue and a facility's free slots; not a resident's bookings, receipts or payments.
        ("/booking/$", SAFE_METHODS),
        ("/booking/facilities/", SAFE_METHODS),
        ("/.well-known/jwks.json", SAFE_METHODS),
    ),
    "providers": (("/.well-known/jwks.json", SAFE_METHODS),),
}

logger = logging.getLogger(__name__)


@dataclass
class _RequestState:
    replica_allowed: bool = False
    wrote: bool = False


_state: contextvars.ContextVar[_RequestState | None] = contextvars.ContextVar("anchorid_db_route", default=None)
_down_lock = threading.Lock()
_down_until = 0.0


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def pin_seconds() -> int:
    return int(getattr(settings, "ANCHORID_REPLICA_PIN_SECONDS", 5))


def retry_seconds() -> float:
    return float(getattr(settings, "ANCHORID_REPLICA_RETRY_SECONDS", 10))


def read_only_path(party: str, method: str, path: str) -> bool:
    """Whether ``method path`` is one of the party's read-only paths (a prefix, or the whole path if it ends in $)."""
    return any(
        method in methods and (path == prefix[:-1] if prefix.endswith("$") else path.startswith(prefix))
        for prefix, methods in READ_ONLY_PATHS.get(party, ())
    )


def mark_replica_down() -> None:
    """Read from the primary for the next ``ANCHORID_REPLICA_RETRY_SECONDS`` (this process)."""
    global _down_until
    with _down_lock:
        _down_until = time.monotonic() + retry_seconds()
    with contextlib.suppress(DatabaseError):
        connections[REPLICA].close()


def _replica_answers() -> bool:
    if time.monotonic() < _down_until:
        return False
    connection = connections[REPLICA]
    try:
        connection.close_if_health_check_failed()  # once per request (CONN_HEALTH_CHECKS): SELECT 1
        connection.ensure_connection()
    except DatabaseError as error:
        logger.warning("database replica unreachable (%s); reading from the primary for %s s",
                       type(error).__name__, retry_seconds())  # fmt: skip
        mark_replica_down()
        return False
    return True


class ReplicaRouter:
    """``DATABASE_ROUTERS`` entry, installed only when a replica is configured (settings_base)."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        state = _state.get()
        alias = PRIMARY
        if (
            state is not None
            and state.replica_allowed
            and not state.wrote
            and not connections[PRIMARY].in_atomic_block
            and _replica_answers()
        ):
            alias = REPLICA
        return alias

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        state = _state.get()
        if state is not None:
            state.wrote = True
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, two copies of it

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == PRIMARY


class ReplicaRoutingMiddleware:
    """First in ``MIDDLEWARE``: decides, per request, whether its reads may go to the replica."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse], *, pin_browsers: bool = True) -> None:
        """``pin_browsers=False`` for the idp's thin dispatch (``oidc.fastpath``): its clients are relying parties
        authenticated per request, not browsers, and it never sets a cookie."""
        self.get_response = get_response
        self.pin_browsers = pin_browsers
        package = str(settings.ROOT_URLCONF).removeprefix("anchorid.").split(".")[0]  # anchorid.idp.urls -> idp
        self.party = {"providersim": "providers"}.get(package, package)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replica_configured():
            return self.get_response(request)
        method = request.method or "GET"
        state = _RequestState(
            replica_allowed=read_only_path(self.party, method, request.path_info) and PIN_COOKIE not in request.COOKIES
        )
        token = _state.set(state)
        try:
            response = self.get_response(request)
        finally:
            _state.reset(token)
        if state.wrote and self.pin_browsers:
            response.set_cookie(PIN_COOKIE, "1", max_age=pin_seconds(), httponly=True, samesite="Lax",
                                secure=settings.SESSION_COOKIE_SECURE)  # fmt: skip
        return response


def replica_database(primary: dict[str, Any]) -> dict[str, Any]:
    """The ``replica`` alias for ``DATABASE_REPLICA_URL``, or nothing. Requires ``DATABASE_URL`` (a replica of the
    embedded SQLite database means nothing)."""
    from anchorid.common import config as settings_registry

    url = settings_registry.DATABASE_REPLICA_URL.value()
    if not url or primary.get("ENGINE") == "django.db.backends.sqlite3":
        return {}
    import dj_database_url

    config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))
    config.setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)  # a dead replica must not hold a request
    # Tests: the replica mirrors the primary's test database (Django creates nothing on it).
    config["TEST"] = {"MIRROR": PRIMARY}
    return {REPLICA: config}
