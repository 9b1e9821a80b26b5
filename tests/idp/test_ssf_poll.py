"""Poll delivery (RFC 8936): SETs returned oldest first, acknowledged with ack, refused with setErrs, held while
the stream is paused; malformed requests refused with 400 and nothing changed."""

from __future__ import annotations

from django.db import transaction
from joserfc import jwt
from joserfc.jwk import KeySet

from anchorid.idp.oidc import jwks
from anchorid.idp.ssf import emit
from anchorid.idp.ssf.models import OutboxEvent

from .oidc_support import register, resident
from .ssf_support import POLL, api, bearer, connect, provider, push_stream, ssf

__all__ = ["provider", "ssf"]


def _setup(events: int = 3):  # type: ignore[no-untyped-def]
    account = resident()
    rp, client = register("bank", redirect_uri="https://bank.example/cb")
    auth = bearer(rp)
    stream = api("POST", "/ssf/streams", auth, {"delivery": {"method": POLL}}).json()
    connect(account, client)
    with transaction.atomic():
        for n in range(events):
            emit.emit_claims_change(account, {"address": {"formatted": f"address {n}"}}, reason="moved")
    return auth, stream


def test_it_returns_sets_and_takes_acks_and_errors(ssf: None) -> None:
    auth, _ = _setup(3)
    first = api("POST", "/ssf/poll", auth, {"maxEvents": 2, "returnImmediately": True})
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["moreAvailable"] is True
    jtis = list(body["sets"])
    assert len(jtis) == 2
    keys = KeySet.import_key_set(jwks.jwks_document())  # type: ignore[arg-type]
    for jti, token in body["sets"].items():
        assert jwt.decode(token, keys, algorithms=["ES256"]).claims["jti"] == jti
    again = api("POST", "/ssf/poll", auth, {"maxEvents": 2, "returnImmediately": True}).json()
    assert list(again["sets"]) == jtis  # not acknowledged yet: returned again
    second = api("POST", "/ssf/poll", auth, {"ack": jtis, "returnImmediately": True}).json()
    assert second["moreAvailable"] is False
    (last,) = second["sets"]
    refusal = {last: {"err": "invalid_audience", "description": "x"}}
    done = api("POST", "/ssf/poll", auth, {"maxEvents": 0, "setErrs": refusal})
    assert done.json() == {"sets": {}, "moreAvailable": False}
    states = dict(OutboxEvent.objects.values_list("jti", "state"))
    assert states == {jtis[0]: "delivered", jtis[1]: "delivered", last: "dead"}
    assert OutboxEvent.objects.get(jti=last).last_error == "invalid_audience: x"
    empty = api("POST", "/ssf/poll", auth, {"returnImmediately": False}).json()  # long poll times out
    assert empty == {"sets": {}, "moreAvailable": False}


def test_it_holds_sets_while_the_stream_is_paused(ssf: None) -> None:
    auth, stream = _setup(1)
    api("POST", "/ssf/status", auth, {"stream_id": stream["stream_id"], "status": "paused"})
    assert api("POST", "/ssf/poll", auth, {"returnImmediately": True}).json()["sets"] == {}
    api("POST", "/ssf/status", auth, {"stream_id": stream["stream_id"], "status": "enabled"})
    assert len(api("POST", "/ssf/poll", auth, {"returnImmediately": True}).json()["sets"]) == 1


def test_it_refuses_malformed_poll_requests(ssf: None) -> None:
    auth, _ = _setup(1)
    jti = OutboxEvent.objects.get().jti
    for body in (
        [],
        {"maxEvents": -1},
        {"maxEvents": 5000},
        {"maxEvents": True},
        {"returnImmediately": "yes"},
        {"ack": jti},
        {"ack": [jti], "setErrs": {jti: {"err": "bad_mood"}}},
        {"ack": [jti], "colour": "blue"},
    ):
        response = api("POST", "/ssf/poll", auth, body)
        assert response.status_code == 400, body
    assert OutboxEvent.objects.get().state == "pending"
    assert api("POST", "/ssf/poll", bearer_without_read(), {}).status_code in (401, 403)


def bearer_without_read() -> dict[str, str]:
    rp, _ = register("other", redirect_uri="https://other.example/cb")
    return bearer(rp, "ssf.manage")


def test_it_push_streams_are_not_polled(ssf: None) -> None:
    rp, _ = register("gas", redirect_uri="https://gas.example/cb")
    push_stream(rp, "http://127.0.0.1:9/events")
    response = api("POST", "/ssf/poll", bearer(rp), {"returnImmediately": True})
    assert response.status_code == 400
