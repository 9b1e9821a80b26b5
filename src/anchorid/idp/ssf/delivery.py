"""The push delivery worker (RFC 8935) over the transactional outbox.

A worker thread repeatedly claims one push stream that has work — enabled, not leased by another worker (or its
lease expired: a killed worker's streams come back after ``ANCHORID_SSF_LEASE_SECONDS``), and whose oldest pending
SET is due — by setting the stream's lease in one statement (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
concurrent workers take different streams without waiting; SQLite runs the single ``UPDATE … RETURNING`` as one
write, which is atomic there). It then POSTs the stream's pending SETs in ``id`` order over one kept-alive
connection and records the outcomes in batches:

- ``202 Accepted``: delivered (only 202 counts, RFC 8935 §2.2);
- ``400`` with an RFC 8935 §2.3 ``err`` (invalid_request, invalid_key, invalid_issuer, invalid_audience,
  authentication_failed, access_denied): the receiver refuses this SET for good — dead-lettered with its err,
  not retried, and the stream moves on;
- anything else (connection refused or reset, timeout, refused address, 5xx, 401/403, 3xx, a 400 without an
  RFC 8935 body): retried after ``base·2^(attempts-1)`` seconds (capped at ``ANCHORID_SSF_RETRY_MAX``) times a
  random factor in [0.5, 1) (jitter); once a SET is older than ``ANCHORID_SSF_DEAD_LETTER_AFTER`` it is
  dead-lettered instead. The stream stops at the failed SET, so the ones after it wait behind it: per-stream order
  is kept (one worker per stream; a stream's first pending SET decides when it is due).

A SET is marked delivered only after its 202, so a worker killed between the 202 and the mark sends it again after
restart; the SET is byte-identical (signed once, when written) and receivers dedupe by ``jti``: at-least-once
delivery, exactly-once effect. (A SET whose signing key was rotated out of the JWKS while it waited is signed again
with the current key, once, and the new token kept.) The endpoint is checked against the SSRF guard before each
batch and every new connection checks its peer address.

The idp's worker (``anchorid.idp.jobs``: ``anchorid worker idp``, or the child of ``anchorid serve idp``) runs
:class:`DeliveryPass` in ``ANCHORID_SSF_WORKER_THREADS`` threads (``ANCHORID_SSF_WORKER=0`` turns it off);
``anchorid idp ssf deliver [--once]`` runs a delivery worker in the foreground. The same pass retries Back-Channel
Logouts that failed at once (``backchannel``).
"""

from __future__ import annotations

import http.client
import logging
import os
import random
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from anchorid.common import request_id, untrusted_json
from anchorid.idp import metrics
from anchorid.idp.ssf import conf, events, ssrf
from anchorid.idp.ssf.models import PUSH, OutboxEvent, Stream

log = logging.getLogger(__name__)

RFC8935_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_key",
        "invalid_issuer",
        "invalid_audience",
        "authentication_failed",
        "access_denied",
    }
)
BATCH = 200  # SETs per stream per claim
MARK_EVERY = 100  # delivered SETs recorded in one UPDATE
IDLE_WAIT = 0.5  # seconds between looks at the outbox when there was nothing to do

_STREAM = Stream._meta.db_table
_OUTBOX = OutboxEvent._meta.db_table


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before the next try after ``attempts`` failed tries: exponential, capped, with jitter."""
    draw = rng.random() if rng is not None else random.random()
    delay = min(conf.retry_max(), conf.retry_base() * (2 ** max(attempts - 1, 0)))
    return float(delay * (0.5 + 0.5 * draw))


@dataclass
class Outcome:
    kind: str  # delivered | permanent | retry
    detail: str = ""


def classify(status: int, body: bytes) -> Outcome:
    if status == 202:
        return Outcome("delivered")
    if status == 400:
        try:
            document = untrusted_json.loads(body or b"{}")
        except ValueError:
            document = None
        err = document.get("err") if isinstance(document, dict) else None
        if err in RFC8935_ERRORS:
            description = document.get("description") if isinstance(document, dict) else None
            text = f"{err}: {description}" if isinstance(description, str) and description else str(err)
            return Outcome("permanent", text[:500])
        return Outcome("retry", "HTTP 400 without an RFC 8935 error")
    return Outcome("retry", f"HTTP {status}")


# --- claiming --------------------------------------------------------------------------------------------------


_CLAIM_SQL = """
UPDATE {stream} SET lease_owner = %s, lease_until = %s
WHERE stream_id IN (
  SELECT s.stream_id FROM {stream} s
  WHERE s.status = %s AND s.delivery_method = %s AND (s.lease_until IS NULL OR s.lease_until < %s)
    AND (SELECT o.next_attempt_at FROM {outbox} o
         WHERE o.stream_id = s.stream_id AND o.state = %s ORDER BY o.id LIMIT 1) <= %s
  ORDER BY s.lease_until {nulls_first}
  LIMIT 1 {lock}
)
RETURNING stream_id
"""


def _claim_sql() -> str:
    postgresql = connection.vendor == "postgresql"
    return _CLAIM_SQL.format(
        stream=_STREAM,
        outbox=_OUTBOX,
        nulls_first="NULLS FIRST" if postgresql else "",  # SQLite sorts NULL first already
        lock="FOR UPDATE OF s SKIP LOCKED" if postgresql else "",
    )


def claim_stream(owner: str) -> str | None:
    """Lease one push stream with due work to ``owner``; its id, or None when there is nothing to do."""
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    until = now + timedelta(seconds=conf.lease_seconds())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _claim_sql(),
            [
                owner,
                adapt(until),
                Stream.Status.ENABLED,
                PUSH,
                adapt(now),
                OutboxEvent.State.PENDING,
                adapt(now),
            ],
        )
        row = cursor.fetchone()
    return str(row[0]) if row else None


def renew_lease(stream_id: str, owner: str) -> bool:
    until = timezone.now() + timedelta(seconds=conf.lease_seconds())
    return Stream.objects.filter(stream_id=stream_id, lease_owner=owner).update(lease_until=until) == 1


def release_lease(stream_id: str, owner: str) -> None:
    """Free the stream at once; its ``lease_until`` (now) puts it behind the streams served less recently, so every
    stream with work gets its turn."""
    Stream.objects.filter(stream_id=stream_id, lease_owner=owner).update(lease_owner="", lease_until=timezone.now())


# --- sending ---------------------------------------------------------------------------------------------------


@dataclass
class Connections:
    """Kept-alive connections, one per endpoint origin, for one worker thread."""

    open: dict[tuple[str, str, int | None], http.client.HTTPConnection] = field(default_factory=dict)

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "", parts.port)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        for attempt in (1, 2):
            conn = self.open.get(key)
            fresh = conn is None
            if conn is None:
                conn = ssrf.connection_for(url, timeout)
                self.open[key] = conn
            try:
                conn.request("POST", target, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read(64 * 1024)
                if response.will_close:
                    self.drop(key)
                return response.status, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.drop(key)
                if fresh or attempt == 2:
                    raise
                # the kept-alive connection was closed by the receiver in the meantime: one fresh try
            except BaseException:
                self.drop(key)
                raise
        raise AssertionError("unreachable")

    def drop(self, key: tuple[str, str, int | None]) -> None:
        conn = self.open.pop(key, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        for key in list(self.open):
            self.drop(key)


def _headers(stream: Stream) -> dict[str, str]:
    headers = {"Content-Type": "application/secevent+jwt", "Accept": "application/json"}
    if stream.authorization_header:
        headers["Authorization"] = stream.authorization_header
    return headers


def _mark_delivered(ids: list[int]) -> None:
    if ids:
        OutboxEvent.objects.filter(id__in=ids, state=OutboxEvent.State.PENDING).update(
            state=OutboxEvent.State.DELIVERED, delivered_at=timezone.now(), last_error="", lease_owner=""
        )


def _mark_dead(event_id: int, attempts: int, reason: str) -> None:
    OutboxEvent.objects.filter(id=event_id, state=OutboxEvent.State.PENDING).update(
        state=OutboxEvent.State.DEAD, attempts=attempts, last_error=reason[:500]
    )


def _mark_retry(event: OutboxEvent, reason: str, now: datetime) -> None:
    attempts = event.attempts + 1
    if (now - event.created_at).total_seconds() >= conf.dead_letter_after():
        _mark_dead(event.id, attempts, f"gave up after {attempts} attempts: {reason}")
        log.warning("SET %s dead-lettered after %d attempts", event.jti[:8], attempts)
        return
    OutboxEvent.objects.filter(id=event.id, state=OutboxEvent.State.PENDING).update(
        attempts=attempts,
        last_error=reason[:500],
        next_attempt_at=now + timedelta(seconds=backoff(attempts)),
    )


@dataclass
class Stats:
    delivered: int = 0
    dead: int = 0
    retried: int = 0

    def add(self, other: Stats) -> None:
        self.delivered += other.delivered
        self.dead += other.dead
        self.retried += other.retried


def deliver_stream(stream_id: str, owner: str, connections: Connections) -> Stats:
    """POST the leased stream's due SETs in order; record outcomes. The caller holds (and then releases) the lease."""
    stats = Stats()
    stream = Stream.objects.filter(stream_id=stream_id).first()
    if stream is None or stream.status != Stream.Status.ENABLED or stream.delivery_method != PUSH:
        return stats
    now = timezone.now()
    pending = list(
        OutboxEvent.objects.filter(stream_id=stream_id, state=OutboxEvent.State.PENDING)
        .order_by("id")
        .only("id", "jti", "token", "attempts", "created_at", "next_attempt_at")[:BATCH]
    )
    if not pending:
        return stats
    try:
        ssrf.check_url(stream.endpoint_url)
    except ssrf.UnsafeEndpoint as e:
        _mark_retry(pending[0], f"endpoint refused: {e}", now)
        stats.retried += 1
        return stats
    headers = _headers(stream)
    timeout = conf.push_timeout()
    kids = events.published_kids()
    delivered: list[int] = []
    renewed = time.monotonic()
    lease = conf.lease_seconds()
    try:
        for event in pending:
            if event.next_attempt_at > now:
                break  # the stream's next SET is backing off: those after it wait too
            resigned = events.resigned_if_unpublished(event.token, kids)
            if resigned is not None:
                OutboxEvent.objects.filter(id=event.id).update(token=resigned)
                event.token = resigned
            # One request id per delivery attempt: the receiver's log lines and ours about this SET meet on it.
            with request_id.bound() as rid:
                try:
                    status, body = connections.post(
                        stream.endpoint_url, event.token.encode("ascii"), {**headers, request_id.HEADER: rid}, timeout
                    )
                    outcome = classify(status, body)
                except ssrf.RefusedPeer as e:
                    outcome = Outcome("retry", f"endpoint refused: {e}")
                except (OSError, http.client.HTTPException) as e:
                    outcome = Outcome("retry", f"{type(e).__name__}: {e}"[:300])
                metrics.ssf_delivery(outcome.kind, event.created_at)
                if outcome.kind == "delivered":
                    delivered.append(event.id)
                    stats.delivered += 1
                    if len(delivered) >= MARK_EVERY:
                        _mark_delivered(delivered)
                        delivered = []
                elif outcome.kind == "permanent":
                    _mark_delivered(delivered)
                    delivered = []
                    _mark_dead(event.id, event.attempts + 1, outcome.detail)
                    stats.dead += 1
                    log.warning("SET %s refused by the receiver: %s", event.jti[:8], outcome.detail)
                else:
                    _mark_delivered(delivered)
                    delivered = []
                    _mark_retry(event, outcome.detail, timezone.now())
                    stats.retried += 1
                    break
            if time.monotonic() - renewed > lease / 3:
                _mark_delivered(delivered)
                delivered = []
                if not renew_lease(stream_id, owner):
                    break  # the lease was lost (this worker stalled past it): another worker has the stream
                renewed = time.monotonic()
    finally:
        _mark_delivered(delivered)
    return stats


def dead_letter_expired() -> int:
    """Give up SETs older than the dead-letter age that no worker is going to deliver: poll streams' unread SETs
    and paused streams' held SETs (push SETs that fail are dead-lettered by the worker itself)."""
    cutoff = timezone.now() - timedelta(seconds=conf.dead_letter_after())
    return OutboxEvent.objects.filter(state=OutboxEvent.State.PENDING, created_at__lt=cutoff).update(
        state=OutboxEvent.State.DEAD, last_error="not delivered within the dead-letter age"
    )


def new_owner() -> str:
    return f"{socket.gethostname()[:24]}:{os.getpid()}:{secrets.token_hex(4)}"


def run_once(owner: str | None = None, connections: Connections | None = None) -> Stats:
    """Deliver until no stream has due work (each stream leased, delivered, released in turn)."""
    owner = owner or new_owner()
    own = connections is None
    connections = connections or Connections()
    total = Stats()
    try:
        while True:
            stream_id = claim_stream(owner)
            if stream_id is None:
                return total
            try:
                total.add(deliver_stream(stream_id, owner, connections))
            finally:
                release_lease(stream_id, owner)
    finally:
        if own:
            connections.close()


class DeliveryPass:
    """One pass of a delivery worker thread: every stream with due SETs, the Back-Channel Logouts due for a retry,
    and (every minute) the dead-lettering of SETs nobody will deliver. Keeps its connections between passes."""

    SWEEP_EVERY = 60.0

    def __init__(self, owner: str | None = None) -> None:
        self.owner = owner or new_owner()
        self.connections = Connections()
        self.last_sweep = 0.0

    def __call__(self) -> bool:
        """Deliver what is due; True when something was delivered or given up (there may be more at once)."""
        from anchorid.idp.ssf import backchannel  # it builds on this module

        stats = run_once(self.owner, self.connections)
        stats.delivered += backchannel.retry_due()
        if time.monotonic() - self.last_sweep > self.SWEEP_EVERY:
            dead_letter_expired()
            self.last_sweep = time.monotonic()
        return stats.delivered > 0 or stats.dead > 0

    def close(self) -> None:
        self.connections.close()


def run_forever(stop: threading.Event, owner: str | None = None) -> None:
    """A worker loop (``anchorid idp ssf deliver``): deliver, then wait a little when there was nothing to do;
    survive database hiccups. The idp's worker runs the same pass as its ``ssf-delivery`` job."""
    delivery = DeliveryPass(owner)
    try:
        while not stop.is_set():
            close_old_connections()
            try:
                busy = delivery()
            except Exception:
                log.exception("SSF delivery failed; trying again shortly")
                busy = False
                stop.wait(5 * IDLE_WAIT)
            if not busy:
                stop.wait(IDLE_WAIT)
    finally:
        delivery.close()
        close_old_connections()


def worker_threads() -> int:
    return conf.worker_threads()


def summary() -> dict[str, Any]:
    """Counts of the outbox by state (for the CLI)."""
    from django.db.models import Count

    return {row["state"]: row["n"] for row in OutboxEvent.objects.values("state").annotate(n=Count("id"))}
