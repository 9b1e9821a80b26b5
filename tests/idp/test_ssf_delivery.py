"""Push delivery (RFC 8935) to a real local receiver: 202 delivered, 400 err dead-lettered, a receiver down for a
while gets everything in order once it is back, the dead-letter age, leases between workers, a resend after a lost
mark applied once, and the SSRF guard at delivery time."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from anchorid.idp.ssf import delivery, emit, ssrf
from anchorid.idp.ssf.models import OutboxEvent

from .oidc_support import register, resident
from .ssf_support import connect, provider, push_stream, receiver_factory, ssf

__all__ = ["provider", "receiver_factory", "ssf"]


def _setup(receiver_factory: Any, *, events: int = 3, **stream: Any) -> tuple[Any, Any]:
    account = resident()
    rp, client = register("electricity", redirect_uri="https://power.example/cb")
    receiver = receiver_factory("electricity")
    push_stream(rp, receiver.url, **stream)
    connect(account, client)
    with transaction.atomic():
        for n in range(events):
            emit.emit_claims_change(account, {"address": {"formatted": f"address {n}"}}, reason="moved")
    return receiver, account


def _addresses(receiver: Any) -> list[str]:
    event = "https://schemas.openid.net/secevent/caep/event-type/claims-change"
    return [c["events"][event]["claims"]["address"]["formatted"] for c in receiver.applied]


def test_it_pushes_sets_in_order_and_marks_them_delivered_after_202(ssf: None, receiver_factory: Any) -> None:
    receiver, _ = _setup(receiver_factory, events=3)
    stats = delivery.run_once()
    assert stats.delivered == 3
    assert _addresses(receiver) == ["address 0", "address 1", "address 2"]
    assert set(OutboxEvent.objects.values_list("state", flat=True)) == {"delivered"}
    headers = receiver.requests[0]
    assert headers["content-type"] == "application/secevent+jwt"
    assert headers["accept"] == "application/json"
    assert delivery.run_once().delivered == 0


def test_it_sends_the_streams_authorization_header(ssf: None, receiver_factory: Any) -> None:
    receiver, _ = _setup(receiver_factory, events=1)
    from anchorid.idp.ssf.models import Stream

    Stream.objects.update(authorization_header="Bearer receiver-secret")
    delivery.run_once()
    assert receiver.requests[0]["authorization"] == "Bearer receiver-secret"


def test_it_dead_letters_a_set_the_receiver_refuses_with_an_rfc8935_error(ssf: None, receiver_factory: Any) -> None:
    receiver, _ = _setup(receiver_factory, events=2)
    receiver.mode = "refuse"
    stats = delivery.run_once()
    assert stats.dead == 2
    dead = list(OutboxEvent.objects.all())
    assert {e.state for e in dead} == {"dead"}
    assert dead[0].last_error == "invalid_key: test receiver refuses"
    assert len(receiver.requests) == 2  # not retried
    assert delivery.run_once().delivered == 0
    assert len(receiver.requests) == 2


def test_it_a_receiver_down_for_a_while_gets_everything_in_order_once_back(ssf: None, receiver_factory: Any) -> None:
    receiver, account = _setup(receiver_factory, events=3)
    receiver.mode = "down"
    first = delivery.run_once()
    assert first.retried == 1
    assert first.delivered == 0
    head = OutboxEvent.objects.order_by("id").first()
    assert head is not None
    assert head.attempts == 1
    assert head.last_error == "HTTP 503"
    assert OutboxEvent.objects.filter(attempts=0).count() == 2  # they wait behind the first
    deadline = time.monotonic() + 10
    while OutboxEvent.objects.filter(attempts__lt=3).exists() and time.monotonic() < deadline:
        delivery.run_once()
        time.sleep(0.05)
    assert OutboxEvent.objects.order_by("id").first().attempts >= 3  # type: ignore[union-attr]
    # more changes while it is down
    with transaction.atomic():
        emit.emit_claims_change(account, {"address": {"formatted": "address 3"}}, reason="moved")
    receiver.mode = "up"
    while OutboxEvent.objects.filter(state="pending").exists() and time.monotonic() < deadline + 10:
        delivery.run_once()
        time.sleep(0.05)
    assert _addresses(receiver) == ["address 0", "address 1", "address 2", "address 3"]
    assert set(OutboxEvent.objects.values_list("state", flat=True)) == {"delivered"}
    assert len({c["jti"] for c in receiver.applied}) == 4


def test_it_dead_letters_after_the_configured_age(ssf: None, receiver_factory: Any, settings: Any) -> None:
    receiver, _ = _setup(receiver_factory, events=1)
    receiver.mode = "down"
    settings.ANCHORID_SSF_DEAD_LETTER_AFTER = "0"
    delivery.run_once()
    event = OutboxEvent.objects.get()
    assert event.state == "dead"
    assert event.last_error.startswith("gave up after 1 attempts")


def test_it_backs_off_exponentially_with_jitter(ssf: None, settings: Any) -> None:
    settings.ANCHORID_SSF_RETRY_BASE = "2"
    settings.ANCHORID_SSF_RETRY_MAX = "600"
    rng = random.Random(5)
    for attempts, full in ((1, 2), (2, 4), (3, 8), (6, 64), (20, 600)):
        delays = [delivery.backoff(attempts, rng) for _ in range(50)]
        assert all(full / 2 <= d <= full for d in delays)
        assert len(set(delays)) > 1


def test_it_resends_a_set_whose_mark_was_lost_and_the_receiver_applies_it_once(
    ssf: None, receiver_factory: Any
) -> None:
    receiver, _ = _setup(receiver_factory, events=2)
    delivery.run_once()
    # as if the worker died after the receiver's 202 but before recording it
    OutboxEvent.objects.update(state="pending", delivered_at=None)
    assert delivery.run_once().delivered == 2
    assert receiver.duplicates == 2
    assert len(receiver.applied) == 2


def test_it_leases_a_stream_to_one_worker_at_a_time(ssf: None, receiver_factory: Any, settings: Any) -> None:
    _setup(receiver_factory, events=1)
    settings.ANCHORID_SSF_LEASE_SECONDS = "0.3"
    first = delivery.claim_stream("worker-a")
    assert first is not None
    assert delivery.claim_stream("worker-b") is None
    time.sleep(0.4)  # worker-a was killed: its lease runs out
    assert delivery.claim_stream("worker-b") == first
    assert delivery.renew_lease(first, "worker-a") is False


def test_it_checks_the_endpoint_again_before_delivering(ssf: None, receiver_factory: Any, settings: Any) -> None:
    receiver, _ = _setup(receiver_factory, events=1)
    settings.ANCHORID_SSF_ALLOW_PRIVATE_NETWORKS = "0"  # the endpoint now points at a private address
    stats = delivery.run_once()
    assert stats.delivered == 0
    assert receiver.requests == []
    event = OutboxEvent.objects.get()
    assert event.state == "pending"
    assert event.last_error.startswith("endpoint refused")


def test_it_a_guarded_connection_refuses_a_private_peer_after_connecting(
    ssf: None, receiver_factory: Any, settings: Any
) -> None:
    receiver = receiver_factory("anyone")
    settings.ANCHORID_SSF_ALLOW_PRIVATE_NETWORKS = "0"
    connection = ssrf.connection_for(receiver.url, 5)
    with pytest.raises(ssrf.RefusedPeer):
        connection.request("POST", "/events", body=b"x")
    assert receiver.requests == []
    settings.ANCHORID_SSF_PUSH_ALLOWED_HOSTS = "127.0.0.1"
    allowed = ssrf.connection_for(receiver.url, 5)
    allowed.request("POST", "/events", body=b"x", headers={"Content-Type": "text/plain"})
    assert allowed.getresponse().status == 400


def test_it_classifies_addresses_for_the_ssrf_guard() -> None:
    import ipaddress

    refused_addresses = ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.0.1", "169.254.169.254", "100.64.1.1"]
    refused_addresses += ["0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fd00:ec2::254", "::ffff:10.0.0.1"]  # noqa: S104
    refused_addresses += ["240.0.0.1"]
    for refused in refused_addresses:
        assert not ssrf.address_allowed(ipaddress.ip_address(refused)), refused
    for allowed in ("8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8"):
        assert ssrf.address_allowed(ipaddress.ip_address(allowed)), allowed


def test_it_the_demo_settings_allow_only_receivers_on_this_machine(settings: Any) -> None:
    from anchorid.idp.ssf.demo import demo_env, guide_lines

    for name, value in demo_env().items():
        setattr(settings, name, value)
    settings.ANCHORID_SSF_ALLOW_PRIVATE_NETWORKS = "0"
    ssrf.check_url("http://127.0.0.1:8010/ssf/events")
    ssrf.check_url("http://localhost:8010/ssf/events")
    for refused in ("http://10.0.0.7/events", "http://169.254.169.254/latest/meta-data/", "ftp://127.0.0.1/"):
        with pytest.raises(ssrf.UnsafeEndpoint):
            ssrf.check_url(refused)
    lines = guide_lines("http://localhost:8001", Path("/tmp/idp"), command=".venv/bin/anchorid")
    assert any("http://localhost:8001/.well-known/ssf-configuration" in line for line in lines)
    assert any(".venv/bin/anchorid idp ssf status --data /tmp/idp" in line for line in lines)


def test_it_signs_a_waiting_set_again_when_its_key_was_rotated_out(ssf: None, receiver_factory: Any) -> None:
    from anchorid.idp.oidc import jwks
    from anchorid.idp.oidc.models import SigningKey

    receiver, _ = _setup(receiver_factory, events=1)
    old = OutboxEvent.objects.get().token
    jwks.rotate()
    jwks.rotate()
    SigningKey.objects.filter(state="retired").delete()  # the old key is no longer published
    jwks.invalidate_cache()
    receiver.jwks = jwks.jwks_document()
    assert delivery.run_once().delivered == 1
    event = OutboxEvent.objects.get()
    assert event.token != old
    assert receiver.applied[0]["jti"] == event.jti


def test_it_serves_every_stream_with_work_in_turn(ssf: None, receiver_factory: Any) -> None:
    account = resident()
    for name in ("gas", "water", "post"):
        rp, client = register(name, redirect_uri=f"https://{name}.example/cb")
        push_stream(rp, receiver_factory(name).url)
        connect(account, client)
    with transaction.atomic():
        emit.emit_session_revoked(account)
    served = []
    for _ in range(3):
        stream_id = delivery.claim_stream("worker")
        assert stream_id is not None
        served.append(stream_id)
        delivery.release_lease(stream_id, "worker")
    assert len(set(served)) == 3
