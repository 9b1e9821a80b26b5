"""Poll-based delivery (RFC 8936) at ``POST /ssf/poll`` for a client's poll stream.

The request (§2.1) is a JSON object: ``maxEvents`` (0 = only acknowledge; default 100, at most ``MAX_EVENTS``),
``returnImmediately`` (default false: wait up to ``ANCHORID_SSF_LONG_POLL_SECONDS`` for a SET, §2.2), ``ack`` (jtis
the receiver has processed: delivered) and ``setErrs`` (jti → ``{"err", "description"}``: refused, dead-lettered
with that error; not sent again). Both are applied first, then the oldest pending SETs are returned as
``{"sets": {jti: SET}, "moreAvailable": bool}`` (§2.4). A SET returned but not acknowledged is returned again
by a later poll (at-least-once); receivers dedupe by jti. A paused stream returns no SETs (they are held); jtis
not of this stream are ignored.
"""

from __future__ import annotations

import time
from typing import Any

from django.db.models import F
from django.utils import timezone

from anchorid.idp.oidc.models import Client
from anchorid.idp.ssf import conf, events
from anchorid.idp.ssf.auth import ApiError
from anchorid.idp.ssf.delivery import RFC8935_ERRORS
from anchorid.idp.ssf.models import POLL, OutboxEvent, Stream

MAX_EVENTS = 1000
DEFAULT_EVENTS = 100
MAX_ACKS = 10000
WAIT_STEP = 0.25


def long_poll_seconds() -> float:
    return conf.long_poll_seconds()


def _bad(description: str) -> ApiError:
    return ApiError(400, "invalid_request", description)


def _parse(body: Any) -> tuple[int, bool, list[str], dict[str, str]]:
    if not isinstance(body, dict):
        raise _bad("the request body must be a JSON object")
    unknown = set(body) - {"maxEvents", "returnImmediately", "ack", "setErrs"}
    if unknown:
        raise _bad(f"unknown member(s): {', '.join(sorted(unknown))}")
    max_events = body.get("maxEvents", DEFAULT_EVENTS)
    if isinstance(max_events, bool) or not isinstance(max_events, int) or not 0 <= max_events <= MAX_EVENTS:
        raise _bad(f"maxEvents must be an integer from 0 to {MAX_EVENTS}")
    immediately = body.get("returnImmediately", False)
    if not isinstance(immediately, bool):
        raise _bad("returnImmediately must be a boolean")
    ack = body.get("ack", [])
    if not isinstance(ack, list) or len(ack) > MAX_ACKS or not all(isinstance(j, str) and j for j in ack):
        raise _bad(f"ack must be a list of at most {MAX_ACKS} jti strings")
    errors: dict[str, str] = {}
    set_errs = body.get("setErrs", {})
    if not isinstance(set_errs, dict) or len(set_errs) > MAX_ACKS:
        raise _bad("setErrs must be an object of jti → {err, description}")
    for jti, error in set_errs.items():
        if not isinstance(error, dict) or error.get("err") not in RFC8935_ERRORS:
            raise _bad(f"setErrs[{jti[:40]}] needs an err from RFC 8935 §2.3")
        description = error.get("description", "")
        if not isinstance(description, str):
            raise _bad(f"setErrs[{jti[:40]}].description must be a string")
        errors[jti] = f"{error['err']}: {description}"[:500] if description else str(error["err"])
    return max_events, immediately, ack, errors


def poll(client: Client, body: Any) -> dict[str, Any]:
    max_events, immediately, ack, errors = _parse(body)
    stream = Stream.objects.filter(client=client).first()
    if stream is None:
        raise ApiError(404, "not_found", "this client has no stream")
    if stream.delivery_method != POLL:
        raise _bad("this client's stream is a push stream")
    pending = OutboxEvent.objects.filter(stream=stream, state=OutboxEvent.State.PENDING)
    if ack:
        pending.filter(jti__in=ack).update(
            state=OutboxEvent.State.DELIVERED, delivered_at=timezone.now(), last_error=""
        )
    for jti, reason in errors.items():
        pending.filter(jti=jti).update(state=OutboxEvent.State.DEAD, last_error=reason)
    if max_events == 0:
        return {"sets": {}, "moreAvailable": False}
    deadline = time.monotonic() + (0 if immediately else long_poll_seconds())
    while True:
        if Stream.objects.filter(pk=stream.pk, status=Stream.Status.ENABLED).exists():
            rows = list(pending.order_by("id").values_list("jti", "token")[: max_events + 1])
            if rows or time.monotonic() >= deadline:
                break
        elif time.monotonic() >= deadline:
            rows = []
            break
        time.sleep(WAIT_STEP)
    rows = rows[: max_events + 1]
    kids = events.published_kids()
    for index, (jti, token) in enumerate(rows[:max_events]):
        resigned = events.resigned_if_unpublished(token, kids)
        if resigned is not None:
            OutboxEvent.objects.filter(jti=jti).update(token=resigned)
            rows[index] = (jti, resigned)
    returned = [jti for jti, _ in rows[:max_events]]
    if returned:
        OutboxEvent.objects.filter(jti__in=returned).update(attempts=F("attempts") + 1)
    return {"sets": dict(rows[:max_events]), "moreAvailable": len(rows) > max_events}
