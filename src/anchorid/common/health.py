"""``/healthz`` and ``/readyz`` on every party (issue #12 §3): for a process supervisor, a load balancer, a probe.

- ``GET /healthz``: the process answers (no database, nothing else): always 200 while it serves.
- ``GET /readyz``: can this instance do its work? 200 when every check passed, 503 otherwise; the JSON body lists
  each check (``{"name", "status": "ok"|"failed", "reason"}``):

  - ``database``: the party's database answers a ``SELECT 1``;
  - ``keys``: the party's startup checks pass (``anchorid.common.startup``: the idp's key store opens with its
    passphrase, jlis's CA keys with theirs, a relying party's client configuration is there). Only the checks'
    ids are shown, never their messages (which name files) or any value; a passing result is kept
    ``KEYS_CACHE_SECONDS`` (opening a key costs a key derivation);
  - ``worker``: a worker of the party beat within ``ANCHORID_WORKER_STALE_SECONDS`` (``anchorid.common.worker``;
    only for a party with background jobs);
  - ``shared-cache`` (only with ``REDIS_URL``): the ``shared`` Redis cache answers a write and a read (rate-limit
    counters and one-time jtis live there: without it those requests fail);
  - ``jlis`` (the idp only): jlis answers at ``ANCHORID_JLIS_URL`` (any answer below 500, within
    ``JLIS_TIMEOUT_SECONDS``; kept ``JLIS_CACHE_SECONDS``).

Both answer GET and HEAD only, set no cookie, need no login and count against no rate limit: a probe every few
seconds costs one indexed read or two.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

KEYS_CACHE_SECONDS = 60.0
JLIS_CACHE_SECONDS = 5.0
JLIS_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": "ok" if self.ok else "failed", "reason": self.reason}


_cache: dict[str, tuple[float, Check]] = {}


def clear_cache() -> None:
    _cache.clear()


def _cached(name: str, seconds: float, keep_failures: bool, compute: Callable[[], Check]) -> Check:
    now = time.monotonic()
    hit = _cache.get(name)
    if hit is not None and now - hit[0] < seconds:
        return hit[1]
    check = compute()
    if check.ok or keep_failures:
        _cache[name] = (now, check)
    else:
        _cache.pop(name, None)
    return check


def check_database() -> Check:
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return Check("database", False, f"the database does not answer ({error.__class__.__name__})")
    return Check("database", True, "answers")


def check_keys() -> Check:
    def compute() -> Check:
        from anchorid.common.startup import problems

        try:
            errors, _ = problems()
        except Exception as error:
            return Check("keys", False, f"the startup checks failed to run ({error.__class__.__name__})")
        if errors:
            return Check("keys", False, "startup checks failed: " + ", ".join(sorted({str(e.id) for e in errors})))
        return Check("keys", True, "unlocked; the startup checks pass")

    return _cached("keys", KEYS_CACHE_SECONDS, False, compute)


def check_worker(party: str) -> Check | None:
    from anchorid.common.worker import conf
    from anchorid.common.worker.heartbeat import fresh
    from anchorid.common.worker.registry import party_jobs

    if not party_jobs(party):
        return None
    try:
        beat = fresh(party)
    except Exception as error:
        return Check("worker", False, f"cannot read the heartbeats ({error.__class__.__name__})")
    if beat is None:
        return Check("worker", False, f"no worker heartbeat in the last {conf.stale_seconds():.0f} s")
    from django.utils import timezone

    age = (timezone.now() - beat.last_beat).total_seconds()
    return Check("worker", True, f"a worker beat {max(age, 0):.0f} s ago")


def check_jlis() -> Check:
    def compute() -> Check:
        import requests

        from anchorid.idp import jlis_client

        try:
            response = requests.get(f"{jlis_client.base_url()}/healthz", timeout=JLIS_TIMEOUT_SECONDS,
                                    allow_redirects=False)  # fmt: skip
        except requests.RequestException as error:
            return Check("jlis", False, f"jlis does not answer ({error.__class__.__name__})")
        if response.status_code >= 500:
            return Check("jlis", False, f"jlis answers HTTP {response.status_code}")
        return Check("jlis", True, "answers")

    return _cached("jlis", JLIS_CACHE_SECONDS, True, compute)


def check_shared_cache() -> Check | None:
    from django.conf import settings
    from django.core.cache import caches

    from anchorid.common.shared_cache import SHARED

    if SHARED not in settings.CACHES:
        return None
    try:
        cache = caches[SHARED]
        cache.set("readyz", 1, timeout=10)
        answered = cache.get("readyz") == 1
    except Exception as error:
        return Check("shared-cache", False, f"Redis does not answer ({error.__class__.__name__})")
    return Check("shared-cache", answered, "answers" if answered else "Redis lost a value it was just given")


def readiness(party: str) -> list[Check]:
    checks = [check_database(), check_keys()]
    shared = check_shared_cache()
    if shared is not None:
        checks.append(shared)
    worker = check_worker(party)
    if worker is not None:
        checks.append(worker)
    if party == "idp":
        checks.append(check_jlis())
    return checks


def healthz_view(party: str) -> Callable[[HttpRequest], HttpResponse]:
    @never_cache
    @require_safe
    def healthz(request: HttpRequest) -> HttpResponse:
        return JsonResponse({"party": party, "status": "alive"})

    return healthz


def readyz_view(party: str) -> Callable[[HttpRequest], HttpResponse]:
    @never_cache
    @require_safe
    def readyz(request: HttpRequest) -> HttpResponse:
        checks = readiness(party)
        ready = all(check.ok for check in checks)
        body = {"party": party, "status": "ready" if ready else "not ready", "checks": [c.as_json() for c in checks]}
        response = JsonResponse(body, status=200 if ready else 503)
        response._has_been_logged = True  # type: ignore[attr-defined]  # a probe's 503 is not a server error to log
        return response

    return readyz


def urls(party: str) -> list[URLPattern]:
    """The two routes, for the front of a party's ``urlpatterns``."""
    return [path("healthz", healthz_view(party), name="healthz"), path("readyz", readyz_view(party), name="readyz")]
