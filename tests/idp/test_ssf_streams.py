"""The transmitter's configuration document, the client_credentials grant and the stream management API
(SSF 1.0 §7, §8.1): happy paths, and refusals with the spec's status codes that change nothing."""

from __future__ import annotations

from django.test import Client as HttpClient

from anchorid.idp.oidc.models import Grant
from anchorid.idp.ssf.models import OutboxEvent, RemovedSubject, Stream

from .oidc_support import ISSUER, exchange, logged_in, register, resident, run_flow
from .ssf_support import POLL, PUSH, api, bearer, cc_token, provider, ssf

__all__ = ["provider", "ssf"]

RECEIVER = "https://receiver.example/events"


def test_it_publishes_the_transmitter_configuration(ssf: None) -> None:
    document = HttpClient().get("/.well-known/ssf-configuration").json()
    assert document["issuer"] == ISSUER
    assert document["jwks_uri"] == ISSUER + "/oidc/jwks"
    assert document["delivery_methods_supported"] == [PUSH, POLL]
    assert document["configuration_endpoint"] == ISSUER + "/ssf/streams"
    assert document["status_endpoint"] == ISSUER + "/ssf/status"
    assert document["add_subject_endpoint"] == ISSUER + "/ssf/subjects:add"
    assert document["remove_subject_endpoint"] == ISSUER + "/ssf/subjects:remove"
    assert document["verification_endpoint"] == ISSUER + "/ssf/verify"
    assert {"spec_urn": "urn:ietf:rfc:6749"} in document["authorization_schemes"]
    assert document["default_subjects"] == "ALL"
    oidc = HttpClient().get("/.well-known/openid-configuration").json()
    assert "client_credentials" in oidc["grant_types_supported"]


def test_it_issues_client_credentials_tokens_for_ssf_scopes_only(ssf: None) -> None:
    rp, _ = register()
    granted = cc_token(rp)
    assert granted.status_code == 200, granted.content
    body = granted.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "ssf.manage ssf.read"
    assert "refresh_token" not in body
    assert "id_token" not in body
    assert cc_token(rp, None).json()["scope"] == "ssf.manage ssf.read"
    refused = cc_token(rp, "openid ssf.read")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"
    public, _ = register("public-app", auth_method="none", profile="simple", require_dpop=False)
    assert cc_token(public).json()["error"] == "unauthorized_client"


def test_it_binds_the_token_to_a_dpop_key_when_a_proof_is_sent(ssf: None) -> None:
    rp, _ = register()
    response = cc_token(rp, "ssf.read", dpop=True)
    assert response.status_code == 200, response.content
    token = response.json()["access_token"]
    assert response.json()["token_type"] == "DPoP"
    as_bearer = api("GET", "/ssf/streams", {"Authorization": "Bearer " + token})
    assert as_bearer.status_code == 401
    proof = rp.proof("GET", ISSUER + "/ssf/streams", access_token=token)
    ok = api("GET", "/ssf/streams", {"Authorization": "DPoP " + token, "DPoP": proof})
    assert ok.status_code == 200, ok.content
    assert ok["DPoP-Nonce"]
    replayed = api("GET", "/ssf/streams", {"Authorization": "DPoP " + token, "DPoP": proof})
    assert replayed.status_code == 401
    assert replayed["WWW-Authenticate"].startswith("DPoP ")
    rp.nonce = None
    no_nonce = rp.proof("GET", ISSUER + "/ssf/streams", access_token=token)
    refused = api("GET", "/ssf/streams", {"Authorization": "DPoP " + token, "DPoP": no_nonce})
    assert refused.status_code == 401
    assert refused.json()["error"] == "use_dpop_nonce"
    rp.nonce = refused["DPoP-Nonce"]
    retried = rp.proof("GET", ISSUER + "/ssf/streams", access_token=token)
    assert api("GET", "/ssf/streams", {"Authorization": "DPoP " + token, "DPoP": retried}).status_code == 200


def test_it_a_client_credentials_token_is_useless_at_userinfo_and_introspection(ssf: None) -> None:
    rp, _ = register()
    token = cc_token(rp).json()["access_token"]
    userinfo = HttpClient().get("/oidc/userinfo", headers={"Authorization": "Bearer " + token})
    assert userinfo.status_code == 401
    from .oidc_support import post_form

    form, headers = rp.client_auth()
    introspected = post_form(HttpClient(), "/oidc/introspect", {**form, "token": token}, headers)
    assert introspected.json() == {"active": False}


def test_it_refuses_the_api_without_a_valid_token(ssf: None) -> None:
    rp, _ = register()
    missing = api("GET", "/ssf/streams", {})
    assert missing.status_code == 401
    assert "Bearer" in missing["WWW-Authenticate"]
    assert missing.json()["error"] == "invalid_token"
    assert api("GET", "/ssf/streams", {"Authorization": "Bearer not-a-token"}).status_code == 401
    # a resident's access token (authorization code grant) is not an SSF token
    flow = run_flow(rp, logged_in(resident()))
    resident_token = exchange(flow).json()["access_token"]
    assert api("GET", "/ssf/streams", {"Authorization": "DPoP " + resident_token}).status_code == 401
    assert api("GET", "/ssf/streams", {"Authorization": "Bearer " + resident_token}).status_code == 401
    # read-only scope cannot manage
    read_only = bearer(rp, "ssf.read")
    created = api("POST", "/ssf/streams", read_only, {"delivery": {"method": POLL}})
    assert created.status_code == 403
    assert created.json()["error"] == "insufficient_scope"
    assert not Stream.objects.exists()
    assert Grant.objects.count() == 1


def test_it_creates_reads_updates_replaces_and_deletes_a_stream(ssf: None) -> None:
    rp, client = register()
    auth = bearer(rp)
    created = api("POST", "/ssf/streams", auth, {"delivery": {"method": PUSH, "endpoint_url": RECEIVER},
                                                   "events_requested": [
                                                       "https://schemas.openid.net/secevent/caep/event-type/claims-change",
                                                       "urn:example:unknown"],
                                                   "description": "electricity"})  # fmt: skip
    assert created.status_code == 201, created.content
    stream = created.json()
    assert stream["iss"] == ISSUER
    assert stream["aud"] == client.client_id
    assert stream["events_delivered"] == ["https://schemas.openid.net/secevent/caep/event-type/claims-change"]
    assert stream["delivery"] == {"method": PUSH, "endpoint_url": RECEIVER}
    stream_id = stream["stream_id"]
    assert api("GET", "/ssf/streams", auth, stream_id=stream_id).json() == stream
    assert api("GET", "/ssf/streams", auth).json() == [stream]
    patched = api("PATCH", "/ssf/streams", auth, {"stream_id": stream_id, "description": "gas"})
    assert patched.status_code == 200
    assert patched.json()["description"] == "gas"
    assert patched.json()["events_delivered"] == stream["events_delivered"]
    replaced = api("PUT", "/ssf/streams", auth, {"stream_id": stream_id, "delivery": {"method": POLL}})
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["delivery"] == {"method": POLL, "endpoint_url": ISSUER + "/ssf/poll"}
    assert "description" not in replaced.json()
    assert len(replaced.json()["events_delivered"]) == 5
    assert api("DELETE", "/ssf/streams", auth, stream_id=stream_id).status_code == 204
    assert api("GET", "/ssf/streams", auth, stream_id=stream_id).status_code == 404
    assert not Stream.objects.exists()


def test_it_refuses_bad_stream_requests_with_400_404_409(ssf: None) -> None:
    rp, _ = register()
    auth = bearer(rp)
    for body in (
        None,
        [],
        {},
        {"delivery": "push"},
        {"delivery": {"method": "urn:example:carrier-pigeon"}},
        {"delivery": {"method": PUSH}},
        {"delivery": {"method": PUSH, "endpoint_url": "ftp://receiver.example/"}},
        {"delivery": {"method": POLL}, "events_requested": "all"},
        {"delivery": {"method": POLL}, "iss": "https://evil.example"},
        {"delivery": {"method": POLL}, "stream_id": "mine"},
        {"delivery": {"method": POLL}, "colour": "blue"},
        {"delivery": {"method": POLL, "endpoint_url": "https://elsewhere.example/poll"}},
        {"delivery": {"method": PUSH, "endpoint_url": RECEIVER, "authorization_header": "a\r\nX-Evil: 1"}},
    ):
        response = api("POST", "/ssf/streams", auth, body)
        assert response.status_code == 400, (body, response.content)
        assert response.json()["error"] == "invalid_request"
    not_json = HttpClient().generic("POST", "/ssf/streams", "{", content_type="application/json", headers=auth)
    assert not_json.status_code == 400
    assert not Stream.objects.exists()
    first = api("POST", "/ssf/streams", auth, {"delivery": {"method": POLL}})
    assert first.status_code == 201
    again = api("POST", "/ssf/streams", auth, {"delivery": {"method": POLL}})
    assert again.status_code == 409
    assert Stream.objects.count() == 1
    assert api("PATCH", "/ssf/streams", auth, {"stream_id": "nope", "description": "x"}).status_code == 404
    assert api("PATCH", "/ssf/streams", auth, {"description": "x"}).status_code == 400
    changed_aud = api("PATCH", "/ssf/streams", auth, {"stream_id": first.json()["stream_id"], "aud": "other"})
    assert changed_aud.status_code == 400
    # another client cannot see or change this one's stream
    other, _ = register("water-co", redirect_uri="https://water.example/cb")
    other_auth = bearer(other)
    stream_id = first.json()["stream_id"]
    assert api("GET", "/ssf/streams", other_auth, stream_id=stream_id).status_code == 404
    assert api("DELETE", "/ssf/streams", other_auth, stream_id=stream_id).status_code == 404
    assert api("POST", "/ssf/status", other_auth, {"stream_id": stream_id, "status": "disabled"}).status_code == 404
    assert Stream.objects.get().status == "enabled"


def test_it_refuses_push_endpoints_on_private_networks(ssf: None, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ANCHORID_SSF_ALLOW_PRIVATE_NETWORKS = "0"
    rp, _ = register()
    auth = bearer(rp)
    for url in (
        "http://127.0.0.1:8080/events",
        "http://localhost/events",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/events",
        "http://[::1]/events",
        "http://[::ffff:192.168.1.1]/events",
        "http://100.64.0.1/events",
        "http://user:pw@receiver.example/events",
    ):
        response = api("POST", "/ssf/streams", auth, {"delivery": {"method": PUSH, "endpoint_url": url}})
        assert response.status_code == 400, url
        assert "endpoint_url refused" in response.json()["error_description"]
    settings.ANCHORID_SSF_ALLOW_INSECURE_HTTP = "0"
    plain = api("POST", "/ssf/streams", auth, {"delivery": {"method": PUSH, "endpoint_url": "http://8.8.8.8/e"}})
    assert plain.status_code == 400
    assert "https" in plain.json()["error_description"]
    assert not Stream.objects.exists()
    settings.ANCHORID_SSF_PUSH_ALLOWED_HOSTS = "localhost"
    settings.ANCHORID_SSF_ALLOW_INSECURE_HTTP = "1"
    allowed = api("POST", "/ssf/streams", auth, {"delivery": {"method": PUSH, "endpoint_url": "http://localhost/e"}})
    assert allowed.status_code == 201


def test_it_reads_and_changes_the_stream_status(ssf: None) -> None:
    rp, _ = register()
    auth = bearer(rp)
    stream_id = api("POST", "/ssf/streams", auth, {"delivery": {"method": POLL}}).json()["stream_id"]
    assert api("GET", "/ssf/status", auth, stream_id=stream_id).json() == {"stream_id": stream_id, "status": "enabled"}
    paused = api("POST", "/ssf/status", auth, {"stream_id": stream_id, "status": "paused", "reason": "maintenance"})
    assert paused.json() == {"stream_id": stream_id, "status": "paused", "reason": "maintenance"}
    bad = api("POST", "/ssf/status", auth, {"stream_id": stream_id, "status": "sleeping"})
    assert bad.status_code == 400
    assert Stream.objects.get().status == "paused"
    assert api("GET", "/ssf/status", auth).status_code == 400


def test_it_adds_and_removes_subjects(ssf: None) -> None:
    rp, _ = register()
    auth = bearer(rp)
    stream_id = api("POST", "/ssf/streams", auth, {"delivery": {"method": POLL}}).json()["stream_id"]
    subject = {"format": "iss_sub", "iss": ISSUER, "sub": "pairwise-sub-1"}
    removed = api("POST", "/ssf/subjects:remove", auth, {"stream_id": stream_id, "subject": subject})
    assert removed.status_code == 204
    assert RemovedSubject.objects.filter(sub="pairwise-sub-1").exists()
    added = api("POST", "/ssf/subjects:add", auth, {"stream_id": stream_id, "subject": subject, "verified": True})
    assert added.status_code == 200
    assert not RemovedSubject.objects.exists()
    for bad in (
        {"stream_id": stream_id},
        {"stream_id": stream_id, "subject": {"format": "email", "email": "a@example.com"}},
        {"stream_id": stream_id, "subject": {**subject, "iss": "https://other.example"}},
        {"stream_id": stream_id, "subject": subject, "verified": "yes"},
    ):
        assert api("POST", "/ssf/subjects:add", auth, bad).status_code == 400
    assert api("POST", "/ssf/subjects:remove", auth, {"stream_id": "x", "subject": subject}).status_code == 404


def test_it_queues_a_verification_event_with_the_receivers_state(ssf: None) -> None:
    rp, _ = register()
    auth = bearer(rp)
    stream_id = api("POST", "/ssf/streams", auth, {"delivery": {"method": POLL}}).json()["stream_id"]
    assert api("POST", "/ssf/verify", auth, {"stream_id": stream_id, "state": "abc123"}).status_code == 204
    event = OutboxEvent.objects.get()
    assert event.event_type == "https://schemas.openid.net/secevent/ssf/event-type/verification"
    assert api("POST", "/ssf/verify", auth, {"stream_id": stream_id, "state": 5}).status_code == 400
    api("POST", "/ssf/status", auth, {"stream_id": stream_id, "status": "disabled"})
    assert api("POST", "/ssf/verify", auth, {"stream_id": stream_id}).status_code == 409
    assert OutboxEvent.objects.count() == 1
