"""Emitting events: SET contents and signature (checked with joserfc against the published JWKS), who receives
what (consent, forwarding, removed subjects, stream status), and the transactional outbox (rollback → no event)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import KeySet

from anchorid.idp.oidc import jwks
from anchorid.idp.oidc.pairwise import subject_for
from anchorid.idp.ssf import emit
from anchorid.idp.ssf.models import OutboxEvent, RemovedSubject, Stream

from .oidc_support import ISSUER, register, resident
from .ssf_support import POLL, api, bearer, connect, provider, ssf

__all__ = ["provider", "ssf"]

CLAIMS_CHANGE = "https://schemas.openid.net/secevent/caep/event-type/claims-change"
NEW_ADDRESS = {
    "formatted": "神奈川県藤沢市朝日町１番地の１",
    "country": "JP",
    "region": "神奈川県",
    "locality": "藤沢市",
}


def _poll_stream(rp):  # type: ignore[no-untyped-def]
    return api("POST", "/ssf/streams", bearer(rp), {"delivery": {"method": POLL}}).json()


def _decode(token: str) -> jwt.Token:
    return jwt.decode(token, KeySet.import_key_set(jwks.jwks_document()), algorithms=["ES256"])  # type: ignore[arg-type]


def test_it_signs_one_set_per_stream_with_that_clients_pairwise_sub(ssf: None) -> None:
    account = resident()
    electricity, e_client = register("electricity", redirect_uri="https://power.example/cb")
    bank, b_client = register("bank", redirect_uri="https://bank.example/cb")
    _poll_stream(electricity)
    _poll_stream(bank)
    connect(account, e_client)
    connect(account, b_client)
    with transaction.atomic():
        queued = emit.emit_claims_change(account, {"address": NEW_ADDRESS}, reason="moved")
    assert queued == 2
    events = sorted(OutboxEvent.objects.all(), key=lambda e: e.stream.client_id != "electricity")
    assert events[0].txn == events[1].txn
    for event, client in zip(events, (e_client, b_client), strict=True):
        token = _decode(event.token)
        assert token.header["typ"] == "secevent+jwt"
        assert token.header["alg"] == "ES256"
        assert token.header["kid"] in {k["kid"] for k in jwks.jwks_document()["keys"]}
        claims = token.claims
        assert claims["iss"] == ISSUER
        assert claims["aud"] == client.client_id
        assert claims["jti"] == event.jti
        assert len(claims["jti"]) >= 22  # 128 random bits, base64url
        assert claims["txn"] == event.txn
        assert "exp" not in claims
        assert "sub" not in claims
        expected_sub = subject_for(client.sector, client.public_sub, str(account.pk))
        assert claims["sub_id"] == {"format": "iss_sub", "iss": ISSUER, "sub": expected_sub}
        assert list(claims["events"]) == [CLAIMS_CHANGE]
        body = claims["events"][CLAIMS_CHANGE]
        assert body["claims"] == {"address": NEW_ADDRESS}
        assert isinstance(body["event_timestamp"], int)
    assert _decode(events[0].token).claims["sub_id"] != _decode(events[1].token).claims["sub_id"]


def test_it_sends_claims_only_to_ticked_clients_and_only_consented_claims(ssf: None) -> None:
    account = resident()
    ticked, t_client = register("water", redirect_uri="https://water.example/cb")
    unticked, u_client = register("carrier", redirect_uri="https://carrier.example/cb")
    stranger, _ = register("post", redirect_uri="https://post.example/cb")
    for rp in (ticked, unticked, stranger):
        _poll_stream(rp)
    connect(account, t_client, claims=("address",))
    connect(account, u_client, forward=False)
    with transaction.atomic():
        queued = emit.emit_claims_change(account, {"address": NEW_ADDRESS, "name": "藤沢　花子"}, reason="moved")
    assert queued == 1
    event = OutboxEvent.objects.get()
    assert event.stream.client_id == "water"
    assert _decode(event.token).claims["events"][CLAIMS_CHANGE]["claims"] == {"address": NEW_ADDRESS}
    with transaction.atomic():
        assert emit.emit_claims_change(account, {"name": "藤沢　花子"}, reason="renamed") == 0


def test_it_an_event_rolled_back_with_its_change_is_never_sent(ssf: None) -> None:
    account = resident()
    rp, client = register()
    _poll_stream(rp)
    connect(account, client)

    class Undo(Exception):
        pass

    def change_then_fail() -> None:
        with transaction.atomic():
            account.status_reason = "changed"
            account.save()
            assert emit.emit_account_status(account, enabled=False, reason="emergency stop") == 1
            raise Undo

    with pytest.raises(Undo):
        change_then_fail()
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_emit_outside_a_transaction(ssf: None) -> None:
    account = resident()
    with pytest.raises(emit.NotInTransaction):
        emit.emit_session_revoked(account)
    with transaction.atomic(), pytest.raises(ValueError, match="credential_type"):
        emit.emit_credential_change(account, credential_type="password", change_type="create")
    assert not OutboxEvent.objects.exists()


def test_it_builds_credential_session_and_account_events(ssf: None) -> None:
    account = resident()
    rp, client = register()
    _poll_stream(rp)
    connect(account, client)
    with transaction.atomic():
        emit.emit_credential_change(account, credential_type="fido2-platform", change_type="create",
                                    friendly_name="iPhone")  # fmt: skip
        emit.emit_session_revoked(account, initiating_entity="user", reason="logout")
        emit.emit_account_status(account, enabled=False, reason="hijacking")
        emit.emit_account_status(account, enabled=False, reason="emergency stop")
        emit.emit_account_status(account, enabled=True, reason="resumed")
    bodies = [_decode(e.token).claims["events"] for e in OutboxEvent.objects.order_by("id")]
    credential = bodies[0]["https://schemas.openid.net/secevent/caep/event-type/credential-change"]
    assert credential["credential_type"] == "fido2-platform"
    assert credential["change_type"] == "create"
    assert credential["friendly_name"] == "iPhone"
    session = bodies[1]["https://schemas.openid.net/secevent/caep/event-type/session-revoked"]
    assert session["initiating_entity"] == "user"
    disabled = bodies[2]["https://schemas.openid.net/secevent/risc/event-type/account-disabled"]
    assert disabled["reason"] == "hijacking"
    stopped = bodies[3]["https://schemas.openid.net/secevent/risc/event-type/account-disabled"]
    assert "reason" not in stopped
    assert stopped["reason_admin"] == {"en": "emergency stop"}
    assert "https://schemas.openid.net/secevent/risc/event-type/account-enabled" in bodies[4]


def test_it_skips_removed_subjects_disabled_streams_and_unrequested_events(ssf: None) -> None:
    account = resident()
    rp, client = register()
    stream = _poll_stream(rp)
    connect(account, client)
    sub = subject_for(client.sector, client.public_sub, str(account.pk))
    RemovedSubject.objects.create(stream_id=stream["stream_id"], sub=sub)
    with transaction.atomic():
        assert emit.emit_session_revoked(account) == 0
    RemovedSubject.objects.all().delete()
    Stream.objects.update(events_requested=[CLAIMS_CHANGE])
    with transaction.atomic():
        assert emit.emit_session_revoked(account) == 0
    Stream.objects.update(events_requested=[CLAIMS_CHANGE], status="disabled")
    with transaction.atomic():
        assert emit.emit_claims_change(account, {"address": NEW_ADDRESS}, reason="moved") == 0
    Stream.objects.update(status="paused")
    with transaction.atomic():
        assert emit.emit_claims_change(account, {"address": NEW_ADDRESS}, reason="moved") == 1


def test_it_stops_telling_a_service_the_resident_disconnected(ssf: None) -> None:
    from anchorid.idp.oidc.consent import withdraw
    from anchorid.idp.oidc.models import Grant

    account = resident()
    rp, client = register()
    _poll_stream(rp)
    connect(account, client)
    Grant.objects.create(id="g1", client=client, account=account, code_hash="h1", code_expires_at=timezone.now(),
                         redirect_uri=rp.redirect_uri, code_challenge="c", scope="openid address", claims={},
                         acr="x", auth_time=timezone.now())  # fmt: skip
    with transaction.atomic():
        assert emit.emit_session_revoked(account) == 1
    withdraw(account, client)
    with transaction.atomic():
        assert emit.emit_session_revoked(account) == 0
        assert emit.emit_account_status(account, enabled=False, reason="emergency stop") == 0
        assert emit.emit_claims_change(account, {"address": NEW_ADDRESS}, reason="moved") == 0
