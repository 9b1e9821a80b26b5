"""The receiver library through a provider's push endpoint (RFC 8935): every refusal with the spec's error code and
nothing applied; a valid SET applied exactly once; retransmissions, key rotation, a transmitter that is down."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from typing import Any

import pytest
from django.db import connections
from django.test import Client

from anchorid.providersim.models import AddressChange, Customer
from anchorid.ssf_receiver import transmitter as transmitter_module
from anchorid.ssf_receiver.events import ACCOUNT_DISABLED, VERIFICATION
from anchorid.ssf_receiver.models import ReceivedSet
from support.ssf_transmitter import NEW_ADDRESS, Transmitter, new_key

from .conftest import PROVIDER

pytestmark = pytest.mark.django_db

OLD_ADDRESS = {"formatted": "神奈川県鎌倉市御成町1番1号", "region": "神奈川県", "locality": "鎌倉市",
               "street_address": "御成町1番1号", "country": "JP"}  # fmt: skip
ENDPOINT = f"/{PROVIDER}/ssf/events"


@pytest.fixture
def customer(provider_files: object) -> Customer:
    return Customer.objects.create(provider=PROVIDER, sub="sub-1", name="鎌倉 花子", address=OLD_ADDRESS)


def push(token: str | bytes, push_token: str, *, content_type: str = "application/secevent+jwt",
         authorization: str | None = None) -> Any:  # fmt: skip
    header = authorization if authorization is not None else f"Bearer {push_token}"
    return Client().post(ENDPOINT, data=token, content_type=content_type, HTTP_AUTHORIZATION=header)


def assert_refused(response: Any, err: str) -> None:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"err", "description"}
    assert body["err"] == err, body


def assert_nothing_applied(customer: Customer) -> None:
    customer.refresh_from_db()
    assert customer.address == OLD_ADDRESS
    assert not AddressChange.objects.exists()
    assert not ReceivedSet.objects.exists()


def b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_it_applies_a_claims_change_and_answers_202(transmitter: Transmitter, push_token: str,
                                                    customer: Customer) -> None:  # fmt: skip
    claims = transmitter.claims()
    response = push(transmitter.sign(claims), push_token)
    assert response.status_code == 202
    assert response.content == b""
    customer.refresh_from_db()
    assert customer.address == NEW_ADDRESS
    change = AddressChange.objects.get()
    assert (change.source, change.txn, change.address) == ("event", claims["txn"], NEW_ADDRESS)
    received = ReceivedSet.objects.get()
    assert (received.receiver, received.jti, received.sub, received.outcome) == (
        PROVIDER,
        claims["jti"],
        "sub-1",
        "address updated",
    )


def test_it_accepts_a_byte_identical_retransmission_without_applying_it_again(
    transmitter: Transmitter, push_token: str, customer: Customer
) -> None:
    token = transmitter.sign(transmitter.claims())
    assert push(token, push_token).status_code == 202
    customer.address = OLD_ADDRESS  # had the SET been applied again, the address would change back
    customer.save()
    assert push(token, push_token).status_code == 202
    customer.refresh_from_db()
    assert customer.address == OLD_ADDRESS
    assert AddressChange.objects.count() == 1
    assert ReceivedSet.objects.count() == 1


def test_it_refuses_another_set_reusing_a_known_jti(transmitter: Transmitter, push_token: str,
                                                    customer: Customer) -> None:  # fmt: skip
    first = transmitter.claims()
    assert push(transmitter.sign(first), push_token).status_code == 202
    moved_again = {**NEW_ADDRESS, "formatted": "神奈川県鎌倉市大町五丁目1番1号"}
    replay = transmitter.claims(jti=first["jti"])
    replay["events"] = {next(iter(first["events"])): {"claims": {"address": moved_again}}}
    assert_refused(push(transmitter.sign(replay), push_token), "invalid_request")
    customer.refresh_from_db()
    assert customer.address == NEW_ADDRESS
    assert AddressChange.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "err"),
    [
        ("", "invalid_request"),
        ("not a jwt", "invalid_request"),
        ("a.b", "invalid_request"),
        ("!!!.???.###", "invalid_request"),
        (b64(b"[1,2]") + "." + b64({"iss": "x"}) + ".c2ln", "invalid_request"),
        ("x" * 70_000, "invalid_request"),
    ],
    ids=["empty", "not-a-jwt", "two-parts", "not-base64url", "header-not-object", "too-large"],
)
def test_it_refuses_a_malformed_set(body: str, err: str, push_token: str, customer: Customer) -> None:
    assert_refused(push(body, push_token), err)
    assert_nothing_applied(customer)


def test_it_refuses_an_unsigned_set(transmitter: Transmitter, push_token: str, customer: Customer) -> None:
    claims = b64(transmitter.claims())
    for header in ({"alg": "none", "typ": "secevent+jwt"}, {"alg": "none", "typ": "secevent+jwt", "kid": "idp-1"}):
        assert_refused(push(f"{b64(header)}.{claims}.", push_token), "invalid_request")
    # An ES256 header with the signature cut off is unsigned too.
    signed = transmitter.sign(transmitter.claims())
    assert_refused(push(signed.rsplit(".", 1)[0] + ".", push_token), "invalid_request")
    assert_nothing_applied(customer)


def test_it_refuses_hmac_with_the_public_key_as_secret_and_other_algorithms(
    transmitter: Transmitter, push_token: str, customer: Customer
) -> None:
    public = json.dumps(transmitter.keys[0].as_dict(private=False)).encode()
    header, claims = b64({"alg": "HS256", "typ": "secevent+jwt", "kid": "idp-1"}), b64(transmitter.claims())
    mac = hmac.new(public, f"{header}.{claims}".encode(), hashlib.sha256).digest()
    assert_refused(push(f"{header}.{claims}.{b64(mac)}", push_token), "invalid_key")
    rs = b64({"alg": "RS256", "typ": "secevent+jwt", "kid": "idp-1"})
    assert_refused(push(f"{rs}.{claims}.{b64(b'sig')}", push_token), "invalid_key")
    assert_nothing_applied(customer)


def test_it_refuses_a_wrong_typ(transmitter: Transmitter, push_token: str, customer: Customer) -> None:
    for typ in ("JWT", "logout+jwt", "at+jwt"):
        assert_refused(push(transmitter.sign(transmitter.claims(), header={"typ": typ}), push_token),
                       "invalid_request")  # fmt: skip
    assert_nothing_applied(customer)


def test_it_refuses_a_set_from_another_issuer(transmitter: Transmitter, push_token: str, customer: Customer) -> None:
    claims = transmitter.claims(iss="http://evil.example")
    assert_refused(push(transmitter.sign(claims), push_token), "invalid_issuer")
    assert_nothing_applied(customer)


def test_it_refuses_a_set_for_another_audience(transmitter: Transmitter, push_token: str,
                                               customer: Customer) -> None:  # fmt: skip
    for audience in ("providersim-water", ["city", "providersim-bank"], None):
        assert_refused(push(transmitter.sign(transmitter.claims(aud=audience)), push_token), "invalid_audience")
    assert_nothing_applied(customer)


def test_it_takes_a_list_audience_that_names_it(transmitter: Transmitter, push_token: str,
                                                customer: Customer) -> None:  # fmt: skip
    claims = transmitter.claims(aud=["someone-else", "providersim-electricity"])
    assert push(transmitter.sign(claims), push_token).status_code == 202


def test_it_refuses_a_bad_signature_and_an_unknown_key(transmitter: Transmitter, push_token: str,
                                                       customer: Customer) -> None:  # fmt: skip
    impostor = new_key("idp-1")  # the transmitter's kid, another key
    assert_refused(push(transmitter.sign(transmitter.claims(), key=impostor), push_token), "invalid_key")
    stranger = new_key("stranger")
    assert_refused(push(transmitter.sign(transmitter.claims(), key=stranger), push_token), "invalid_key")
    no_kid = transmitter.sign(transmitter.claims(), header={"kid": ""})
    assert_refused(push(no_kid, push_token), "invalid_key")
    assert_nothing_applied(customer)


def test_it_refetches_the_jwks_once_for_an_unknown_kid(
    transmitter: Transmitter, push_token: str, customer: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transmitter_module, "REFETCH_INTERVAL", 0.5)
    assert push(transmitter.sign(transmitter.claims()), push_token).status_code == 202
    fetches = transmitter.jwks_fetches
    # The transmitter rotates: a while later a SET names a key published after our first fetch.
    rotated = new_key("idp-2")
    transmitter.keys.append(rotated)
    time.sleep(0.6)
    assert push(transmitter.sign(transmitter.claims(), key=rotated), push_token).status_code == 202
    assert transmitter.jwks_fetches == fetches + 1
    # A forged kid right after does not make us fetch again (at most one refetch per interval).
    assert_refused(push(transmitter.sign(transmitter.claims(), key=new_key("forged")), push_token), "invalid_key")
    assert transmitter.jwks_fetches == fetches + 1


@pytest.mark.parametrize(
    "changes",
    [
        {"iat": int(time.time()) + 3600},
        {"iat": int(time.time()) - 8 * 24 * 3600},
        {"iat": "now"},
        {"iat": True},
        {"iat": None},
        {"exp": int(time.time()) - 3600},
        {"jti": ""},
        {"jti": None},
        {"jti": 12345},
        {"txn": 7},
        {"sub_id": "sub-1"},
        {"sub_id": {"format": "iss_sub", "iss": "http://evil.example", "sub": "sub-1"}},
        {"events": {}},
        {"events": None},
        {"events": {"https://schemas.openid.net/secevent/caep/event-type/claims-change": "moved"}},
        {"events": {"https://schemas.openid.net/secevent/caep/event-type/claims-change": {"claims": {}},
                    "https://schemas.openid.net/secevent/caep/event-type/session-revoked": {}}},
    ],
    ids=["iat-future", "too-old", "iat-string", "iat-bool", "no-iat", "expired", "empty-jti", "no-jti", "jti-number",
         "txn-number", "sub-id-string", "sub-id-other-issuer", "no-event", "events-null", "event-not-object",
         "two-events"],
)  # fmt: skip
def test_it_refuses_a_set_with_bad_claims(changes: dict[str, Any], transmitter: Transmitter, push_token: str,
                                          customer: Customer) -> None:  # fmt: skip
    claims = transmitter.claims()
    claims.update(changes)
    claims = {key: value for key, value in claims.items() if value is not None}
    assert_refused(push(transmitter.sign(claims), push_token), "invalid_request")
    assert_nothing_applied(customer)


@pytest.mark.parametrize(
    "event",
    [
        {"claims": {"address": "神奈川県鎌倉市"}},
        {"claims": {"address": {"formatted": 5}}},
        {"claims": {"address": {"planet": "Mars"}}},
        {"claims": {}},
        {"event_timestamp": 1},
    ],
    ids=["address-string", "formatted-number", "unknown-field", "no-claims", "claims-missing"],
)
def test_it_refuses_a_claims_change_that_does_not_conform(event: dict[str, Any], transmitter: Transmitter,
                                                          push_token: str, customer: Customer) -> None:  # fmt: skip
    claims = transmitter.claims()
    claims["events"] = {next(iter(claims["events"])): event}
    assert_refused(push(transmitter.sign(claims), push_token), "invalid_request")
    assert_nothing_applied(customer)


def test_it_refuses_a_push_without_the_streams_authorization(transmitter: Transmitter, push_token: str,
                                                             customer: Customer) -> None:  # fmt: skip
    token = transmitter.sign(transmitter.claims())
    for authorization in ("", "Bearer wrong", f"Basic {push_token}", push_token):
        assert_refused(push(token, push_token, authorization=authorization), "authentication_failed")
    assert_nothing_applied(customer)


def test_it_refuses_another_content_type_and_method(transmitter: Transmitter, push_token: str,
                                                    customer: Customer) -> None:  # fmt: skip
    token = transmitter.sign(transmitter.claims())
    assert_refused(push(token, push_token, content_type="application/json"), "invalid_request")
    assert_refused(push(token, push_token, content_type="text/plain"), "invalid_request")
    assert Client().get(ENDPOINT).status_code == 405
    assert_nothing_applied(customer)


def test_it_answers_503_and_applies_nothing_while_the_transmitters_keys_cannot_be_fetched(
    transmitter: Transmitter, push_token: str, customer: Customer
) -> None:
    transmitter.down = True
    token = transmitter.sign(transmitter.claims())
    assert push(token, push_token).status_code == 503
    assert_nothing_applied(customer)
    transmitter.down = False  # the transmitter retries later, and then it is taken
    assert push(token, push_token).status_code == 202
    customer.refresh_from_db()
    assert customer.address == NEW_ADDRESS


def test_it_acknowledges_events_about_unknown_subjects_and_other_event_types(
    transmitter: Transmitter, push_token: str, customer: Customer
) -> None:
    stranger = transmitter.claims(sub_id={"format": "iss_sub", "iss": transmitter.issuer, "sub": "sub-unknown"})
    assert push(transmitter.sign(stranger), push_token).status_code == 202
    disabled = transmitter.claims()
    disabled["events"] = {ACCOUNT_DISABLED: {"reason_admin": {"en": "stopped"}}}
    assert push(transmitter.sign(disabled), push_token).status_code == 202
    verification = transmitter.claims(sub_id=None)
    verification["events"] = {VERIFICATION: {"state": "check-123"}}
    assert push(transmitter.sign(verification), push_token).status_code == 202
    outcomes = dict(ReceivedSet.objects.values_list("jti", "outcome"))
    assert outcomes == {stranger["jti"]: "unknown subject: ignored", disabled["jti"]: "noted",
                        verification["jti"]: "verification check-123"}  # fmt: skip
    customer.refresh_from_db()
    assert customer.address == OLD_ADDRESS


@pytest.mark.django_db(transaction=True)
def test_it_applies_one_set_delivered_twice_at_once_exactly_once(transmitter: Transmitter, push_token: str,
                                                                 customer: Customer) -> None:  # fmt: skip
    token = transmitter.sign(transmitter.claims())
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        barrier.wait()
        try:
            statuses.append(push(token, push_token).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [202] * 4
    assert AddressChange.objects.count() == 1
    assert ReceivedSet.objects.count() == 1


def test_it_keeps_no_personal_data_in_the_jti_record(transmitter: Transmitter, push_token: str,
                                                     customer: Customer) -> None:  # fmt: skip
    assert push(transmitter.sign(transmitter.claims()), push_token).status_code == 202
    row = ReceivedSet.objects.values().get()
    assert NEW_ADDRESS["formatted"] not in json.dumps(row, default=str)
