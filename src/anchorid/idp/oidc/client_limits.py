"""Limits on guessing at the token endpoint (and the other endpoints that authenticate clients: PAR,
introspection, revocation), counted with ``anchorid.idp.ratelimit`` (shared by every worker of the idp).

- Client authentication failures (``invalid_client``: a wrong secret, a bad or replayed assertion, an unknown
  client), per claimed ``client_id`` and per caller IP: after ``attempts`` failures in a window, that client_id (or
  that IP) is locked out until the window ends — every request is answered 429 ``invalid_client`` with
  ``Retry-After``, *even with the right secret or assertion*, so a guess that happens to be right is worth nothing.
- ``invalid_grant`` floods (wrong codes, wrong verifiers, old refresh tokens) per authenticated client (per client
  and IP for public clients, whose client_id anyone can claim — otherwise anyone could lock a public client out):
  after ``attempts`` refusals in a window, that client's grant requests are answered 429 ``invalid_grant`` with
  ``Retry-After`` until the window ends, and the code presented is not used up.

Only failures count, and a request only reads the counters before it is tried (no write), so a client that
authenticates and redeems its codes pays one read and is never slowed down by others' failures. The token and PAR
endpoints read every counter they may check in one statement (``read``: the claimed client's and the IP's
authentication failures and the claimed client's refused grants, under both keys a grant check can use); a grant
check for another key than those reads its own. Every limit can be changed by name with ``ANCHORID_RATE_LIMITS``
(ratelimit.py).
"""

from __future__ import annotations

import contextlib

from anchorid.idp import ratelimit
from anchorid.idp.oidc.errors import INVALID_CLIENT, INVALID_GRANT, Throttled
from anchorid.idp.ratelimit import Limit, RateLimited

AUTH_FAILURES_PER_CLIENT = Limit("oidc-client-auth-client", attempts=20, window_seconds=600)
AUTH_FAILURES_PER_IP = Limit("oidc-client-auth-ip", attempts=60, window_seconds=600)
INVALID_GRANTS_PER_CLIENT = Limit("oidc-invalid-grant-client", attempts=200, window_seconds=600)

AUTH_LOCKED = "too many failed client authentications; try again after Retry-After seconds"
GRANT_LOCKED = "too many refused grants for this client; try again after Retry-After seconds"


def _locked_for(limit: Limit, key: str) -> int | None:
    """Seconds until the window ends when ``key`` has used up its failures, else None (a read, nothing counted)."""
    try:
        ratelimit.check(limit, key)
    except RateLimited as locked:
        return locked.retry_after
    return None


def _count_failure(limit: Limit, key: str) -> None:
    """Count one failure; the request that made it keeps its own error, the next one is refused while locked."""
    with contextlib.suppress(RateLimited):  # over already: concurrent failures that all passed the check
        ratelimit.hit(limit, key)


def _auth_keys(client_id: str, ip: str) -> list[tuple[Limit, str]]:
    keys = [(AUTH_FAILURES_PER_IP, ip)]
    if client_id:
        keys.append((AUTH_FAILURES_PER_CLIENT, client_id))
    return keys


Counters = dict[tuple[str, str], int | None]  # (limit name, key) -> seconds locked, or None


def read(client_id: str, ip: str) -> Counters:
    """Every counter a request of ``client_id`` from ``ip`` may check, in one read (``ratelimit.locked``)."""
    checks = _auth_keys(client_id, ip)
    if client_id:
        checks += [(INVALID_GRANTS_PER_CLIENT, _grant_key(client_id, public, ip)) for public in (False, True)]
    return {(limit.name, key): wait for (limit, key), wait in zip(checks, ratelimit.locked(checks), strict=True)}


def check_authentication(client_id: str, ip: str, counters: Counters | None = None) -> None:
    """Before authenticating: raise ``Throttled`` (429 invalid_client) while the client_id or the IP is locked."""
    counters = read(client_id, ip) if counters is None else counters
    waits = [wait for limit, key in _auth_keys(client_id, ip) if (wait := counters[(limit.name, key)]) is not None]
    if waits:
        raise Throttled(INVALID_CLIENT, AUTH_LOCKED, retry_after=max(waits))


def authentication_failed(client_id: str, ip: str) -> None:
    """After an ``invalid_client``: count it against the client_id and the IP."""
    for limit, key in _auth_keys(client_id, ip):
        _count_failure(limit, key)


def _grant_key(client_id: str, public: bool, ip: str) -> str:
    return f"{client_id}\n{ip}" if public else client_id


def check_grants(client_id: str, public: bool, ip: str, counters: Counters | None = None) -> None:
    """Before a grant request of an authenticated client: raise ``Throttled`` (429 invalid_grant) while locked."""
    key = _grant_key(client_id, public, ip)
    known = (counters or {}).get((INVALID_GRANTS_PER_CLIENT.name, key), False)
    wait = _locked_for(INVALID_GRANTS_PER_CLIENT, key) if known is False else known
    if wait is not None:
        raise Throttled(INVALID_GRANT, GRANT_LOCKED, retry_after=wait)


def grant_refused(client_id: str, public: bool, ip: str) -> None:
    """After an ``invalid_grant``: count it against the client (and the IP, for a public client)."""
    _count_failure(INVALID_GRANTS_PER_CLIENT, _grant_key(client_id, public, ip))
