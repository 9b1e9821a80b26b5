"""Stream management (SSF 1.0 §8.1): one stream per client, read and changed only by that client.

The stream configuration a receiver sees: ``stream_id``, ``iss``, ``aud`` (the client id), ``events_supported``,
``events_requested``, ``events_delivered`` (requested ∩ supported), ``delivery`` (``method``, ``endpoint_url``:
the receiver's push endpoint, or our poll endpoint), ``description``. Receivers set ``events_requested``,
``delivery`` and ``description``; the transmitter-supplied fields may be echoed back unchanged in an update and
are refused when they differ. A push ``authorization_header`` is accepted and sent with each SET but never shown
again. Omitting ``events_requested`` at creation asks for every supported event.

HTTP codes: 201 created, 200 read/updated, 204 deleted / subject removed / verification queued; 400 malformed
request (which field, why), 401 no valid token, 403 wrong scope, 404 no such stream for this client, 409 the client
already has a stream (creation) or the stream is disabled (verification).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction

from anchorid.idp.oidc import config
from anchorid.idp.oidc.models import Client
from anchorid.idp.ssf import events, ssrf
from anchorid.idp.ssf.auth import ApiError
from anchorid.idp.ssf.models import POLL, PUSH, OutboxEvent, RemovedSubject, Stream

RECEIVER_FIELDS = ("events_requested", "delivery", "description")
TRANSMITTER_FIELDS = ("iss", "aud", "events_supported", "events_delivered", "min_verification_interval")
MAX_DESCRIPTION = 500
MAX_STATE = 500


def bad_request(description: str) -> ApiError:
    return ApiError(400, "invalid_request", description)


def not_found() -> ApiError:
    return ApiError(404, "not_found", "no stream with this stream_id for this client")


def poll_endpoint() -> str:
    return config.endpoint("/ssf/poll")


def document(stream: Stream) -> dict[str, Any]:
    delivered = [e for e in stream.events_requested if e in events.SUPPORTED_EVENTS]
    delivery: dict[str, Any] = {"method": stream.delivery_method}
    delivery["endpoint_url"] = stream.endpoint_url if stream.delivery_method == PUSH else poll_endpoint()
    result: dict[str, Any] = {
        "stream_id": stream.stream_id,
        "iss": config.issuer(),
        "aud": stream.client_id,
        "events_supported": list(events.SUPPORTED_EVENTS),
        "events_requested": list(stream.events_requested),
        "events_delivered": delivered,
        "delivery": delivery,
    }
    if stream.description:
        result["description"] = stream.description
    return result


def _events_requested(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(e, str) and 0 < len(e) <= 200 for e in value):
        raise bad_request("events_requested must be a list of event type URIs")
    return list(dict.fromkeys(value))


def _delivery(value: Any) -> tuple[str, str, str]:
    """(method, endpoint_url, authorization_header) from a ``delivery`` object."""
    if not isinstance(value, dict):
        raise bad_request("delivery must be an object with method (and endpoint_url for push)")
    unknown = set(value) - {"method", "endpoint_url", "authorization_header"}
    if unknown:
        raise bad_request(f"unknown delivery member(s): {', '.join(sorted(unknown))}")
    method = value.get("method")
    if method == PUSH:
        url = value.get("endpoint_url")
        if not isinstance(url, str):
            raise bad_request("push delivery needs endpoint_url")
        try:
            ssrf.check_url(url)
        except ssrf.UnsafeEndpoint as e:
            raise bad_request(f"endpoint_url refused: {e}") from None
        header = value.get("authorization_header", "")
        if not isinstance(header, str) or len(header) > 2000 or "\r" in header or "\n" in header:
            raise bad_request("authorization_header must be a single-line string of at most 2000 characters")
        return method, url, header
    if method == POLL:
        url = value.get("endpoint_url")
        if url is not None and url != poll_endpoint():
            raise bad_request(f"poll delivery uses this transmitter's endpoint {poll_endpoint()}")
        if value.get("authorization_header"):
            raise bad_request("authorization_header is for push delivery only")
        return method, "", ""
    raise bad_request(f"delivery.method must be {PUSH} or {POLL}")


def _description(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION:
        raise bad_request(f"description must be a string of at most {MAX_DESCRIPTION} characters")
    return value


def _check_transmitter_fields(body: dict[str, Any], current: dict[str, Any] | None) -> None:
    for name in TRANSMITTER_FIELDS:
        if name in body and (current is None or body[name] != current.get(name)):
            raise bad_request(f"{name} is set by the transmitter")
    known = {"stream_id", *RECEIVER_FIELDS, *TRANSMITTER_FIELDS}
    unknown = set(body) - known
    if unknown:
        raise bad_request(f"unknown stream configuration member(s): {', '.join(sorted(unknown))}")


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    return body


def stream_of(client: Client, stream_id: Any) -> Stream:
    if not isinstance(stream_id, str) or not stream_id:
        raise bad_request("stream_id is required")
    if "\x00" in stream_id:  # no such stream (PostgreSQL refuses the query: a 500)
        raise not_found()
    stream = Stream.objects.filter(stream_id=stream_id, client=client).first()
    if stream is None:
        raise not_found()
    return stream


def create(client: Client, body: Any) -> Stream:
    body = _object(body)
    if "stream_id" in body:
        raise bad_request("stream_id is set by the transmitter")
    _check_transmitter_fields(body, None)
    if "delivery" not in body:
        raise bad_request("delivery is required")
    method, url, header = _delivery(body["delivery"])
    requested = _events_requested(body["events_requested"]) if "events_requested" in body else None
    description = _description(body.get("description", ""))
    with transaction.atomic():
        if Stream.objects.select_for_update().filter(client=client).exists():
            raise ApiError(409, "conflict", "this client already has a stream (one stream per receiver)")
        return Stream.objects.create(
            stream_id=secrets.token_urlsafe(16),
            client=client,
            delivery_method=method,
            endpoint_url=url,
            authorization_header=header,
            events_requested=list(events.SUPPORTED_EVENTS) if requested is None else requested,
            description=description,
        )


def update(client: Client, body: Any, *, replace: bool) -> Stream:
    """PATCH (only the members given change) or PUT (every receiver member replaced; missing ones reset)."""
    body = _object(body)
    with transaction.atomic():
        stream = stream_of(client, body.get("stream_id"))
        stream = Stream.objects.select_for_update().get(pk=stream.pk)
        _check_transmitter_fields(body, document(stream))
        if replace and "delivery" not in body:
            raise bad_request("delivery is required when replacing the configuration")
        if "delivery" in body:
            stream.delivery_method, stream.endpoint_url, stream.authorization_header = _delivery(body["delivery"])
        if "events_requested" in body:
            stream.events_requested = _events_requested(body["events_requested"])
        elif replace:
            stream.events_requested = list(events.SUPPORTED_EVENTS)
        if "description" in body:
            stream.description = _description(body["description"])
        elif replace:
            stream.description = ""
        stream.save()
        return stream


def delete(client: Client, stream_id: Any) -> None:
    stream_of(client, stream_id).delete()


def status_document(stream: Stream) -> dict[str, Any]:
    result: dict[str, Any] = {"stream_id": stream.stream_id, "status": stream.status}
    if stream.status_reason:
        result["reason"] = stream.status_reason
    return result


def set_status(client: Client, body: Any) -> Stream:
    body = _object(body)
    status = body.get("status")
    if status not in Stream.Status.values:
        raise bad_request("status must be enabled, paused or disabled")
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 500:
        raise bad_request("reason must be a string of at most 500 characters")
    with transaction.atomic():
        stream = stream_of(client, body.get("stream_id"))
        stream.status, stream.status_reason = status, reason
        stream.save(update_fields=["status", "status_reason", "updated_at"])
        if status == Stream.Status.DISABLED:
            # SSF 1.0 §8.1.2.1: a disabled stream's events are not held for it.
            OutboxEvent.objects.filter(stream=stream, state=OutboxEvent.State.PENDING).update(
                state=OutboxEvent.State.DEAD, last_error="the receiver disabled the stream"
            )
    return stream


def _subject(body: dict[str, Any]) -> str:
    subject = body.get("subject")
    if not isinstance(subject, dict) or subject.get("format") != "iss_sub":
        raise bad_request("subject must be an iss_sub subject identifier")
    if subject.get("iss") != config.issuer():
        raise bad_request("subject.iss must be this transmitter's issuer")
    sub = subject.get("sub")
    if not isinstance(sub, str) or not 0 < len(sub) <= 255:
        raise bad_request("subject.sub must be a string of 1-255 characters")
    return sub


def add_subject(client: Client, body: Any) -> None:
    body = _object(body)
    sub = _subject(body)
    if "verified" in body and not isinstance(body["verified"], bool):
        raise bad_request("verified must be a boolean")
    stream = stream_of(client, body.get("stream_id"))
    RemovedSubject.objects.filter(stream=stream, sub=sub).delete()


def remove_subject(client: Client, body: Any) -> None:
    body = _object(body)
    sub = _subject(body)
    stream = stream_of(client, body.get("stream_id"))
    RemovedSubject.objects.get_or_create(stream=stream, sub=sub)


def request_verification(client: Client, body: Any) -> OutboxEvent:
    """Queue a verification event (SSF 1.0 §8.1.4.2) with the receiver's ``state``, about the stream itself."""
    body = _object(body)
    state = body.get("state")
    if state is not None and (not isinstance(state, str) or len(state) > MAX_STATE):
        raise bad_request(f"state must be a string of at most {MAX_STATE} characters")
    with transaction.atomic():
        stream = stream_of(client, body.get("stream_id"))
        if stream.status == Stream.Status.DISABLED:
            raise ApiError(409, "stream_disabled", "the stream is disabled: enable it before verifying")
        event: dict[str, Any] = {} if state is None else {"state": state}
        jti, txn = events.new_jti(), events.new_txn()
        payload = events.set_payload(
            aud=client.client_id,
            jti=jti,
            txn=txn,
            sub_id={"format": "opaque", "id": stream.stream_id},
            event_type=events.VERIFICATION,
            event=event,
        )
        return OutboxEvent.objects.create(
            stream=stream, txn=txn, jti=jti, event_type=events.VERIFICATION, token=events.sign_set(payload)
        )
