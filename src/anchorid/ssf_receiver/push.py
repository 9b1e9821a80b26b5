"""The push endpoint (RFC 8935): the transmitter POSTs one SET, we answer 202 or 400 with an error object.

- §2.1: the request carries ``Content-Type: application/secevent+jwt`` and the compact SET as its body; anything
  else is ``invalid_request``.
- Authentication of the transmitter: the stream was created with an ``authorization_header`` (a bearer token only
  this receiver and the transmitter know); a push without it, or with another, is ``authentication_failed``.
- §2.2: 202 Accepted, empty body, once the SET is recorded and applied (or was already: a retransmission).
- §2.3: 400 with ``Content-Type: application/json`` and ``{"err": CODE, "description": TEXT}``; the transmitter
  does not retry these.
- When the transmitter's keys cannot be fetched the SET is neither accepted nor refused: 503, and the transmitter
  retries later. A handler failing unexpectedly is a 500 for the same reason (nothing was recorded).
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from django.http import HttpRequest, HttpResponse, JsonResponse

from anchorid.ssf_receiver.errors import AUTHENTICATION_FAILED, INVALID_REQUEST, SetError, TransmitterUnavailable
from anchorid.ssf_receiver.models import ReceivedSet
from anchorid.ssf_receiver.receive import Receiver
from anchorid.ssf_receiver.verify import MAX_SET_BYTES

log = logging.getLogger(__name__)

SET_CONTENT_TYPE = "application/secevent+jwt"


def error_response(error: SetError) -> JsonResponse:
    return JsonResponse(error.as_json(), status=400)


def check_authorization(request: HttpRequest, receiver: Receiver) -> None:
    expected = receiver.config.push_token_sha256
    if not expected:
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    presented = hashlib.sha256(token.strip().encode("utf-8")).hexdigest()
    if scheme.lower() != "bearer" or not token or not hmac.compare_digest(presented, expected):
        raise SetError(AUTHENTICATION_FAILED, "the push did not carry this stream's authorization")


def handle_push(request: HttpRequest, receiver: Receiver) -> HttpResponse:
    """Answer one RFC 8935 push for ``receiver`` (the view is csrf_exempt: server to server, no cookie)."""
    if request.method != "POST":
        response = HttpResponse(status=405)
        response["Allow"] = "POST"
        return response
    try:
        check_authorization(request, receiver)
        content_type = request.content_type.lower() if request.content_type else ""
        if content_type != SET_CONTENT_TYPE:
            raise SetError(INVALID_REQUEST, f"Content-Type must be {SET_CONTENT_TYPE}")
        length = request.headers.get("Content-Length") or "0"
        if not length.isdigit() or int(length) > MAX_SET_BYTES:
            raise SetError(INVALID_REQUEST, "the SET is too large or its length unreadable")
        body = request.body
        try:
            token = body.decode("ascii")
        except UnicodeDecodeError:
            raise SetError(INVALID_REQUEST, "a SET is ASCII text") from None
        receipt = receiver.receive(token, via=ReceivedSet.Via.PUSH)
    except SetError as error:
        log.info("SET refused by %s: %s", receiver.config.name, error.err)
        return error_response(error)
    except TransmitterUnavailable as error:
        log.warning("SET not taken by %s, transmitter unavailable: %s", receiver.config.name, error)
        return HttpResponse(status=503, headers={"Retry-After": "30"})
    log.info("SET %s by %s: %s", receipt.outcome.value, receiver.config.name, receipt.jti)
    return HttpResponse(status=202)
