"""Where the idp changes things, services connected to the resident hear about it: passkey revoked, emergency stop
and resumption, deletion, logout — and a service the resident never used hears nothing."""

from __future__ import annotations

from django.test import Client as HttpClient
from joserfc import jwt
from joserfc.jwk import KeySet

from anchorid.idp.oidc import jwks
from anchorid.idp.passkeys.ceremonies import revoke_passkey
from anchorid.idp.passkeys.models import Passkey
from anchorid.idp.selfservice import actions
from anchorid.idp.ssf.models import OutboxEvent

from .oidc_support import exchange, logged_in, register, resident, run_flow
from .ssf_support import POLL, api, bearer, connect, provider, ssf

__all__ = ["provider", "ssf"]

CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"


def _events(client_id: str) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    keys = KeySet.import_key_set(jwks.jwks_document())  # type: ignore[arg-type]
    result = []
    for event in OutboxEvent.objects.filter(stream__client_id=client_id).order_by("id"):
        ((event_type, body),) = jwt.decode(event.token, keys, algorithms=["ES256"]).claims["events"].items()
        result.append((event_type, body))
    return result


def _two_services():  # type: ignore[no-untyped-def]
    account = resident()
    used, used_client = register("electricity", redirect_uri="https://power.example/cb")
    unused, _ = register("water", redirect_uri="https://water.example/cb")
    for rp in (used, unused):
        assert api("POST", "/ssf/streams", bearer(rp), {"delivery": {"method": POLL}}).status_code == 201
    connect(account, used_client)
    return account


def test_it_tells_connected_services_about_a_revoked_passkey(ssf: None) -> None:
    account = _two_services()
    passkey = Passkey.objects.create(account=account, credential_id="cred-1", public_key=b"k", name="iPhone",
                                     transports=["internal", "hybrid"])  # fmt: skip
    revoke_passkey(account, passkey.pk)
    ((event_type, body),) = _events("electricity")
    assert event_type == CAEP + "credential-change"
    assert body["credential_type"] == "fido2-platform"
    assert body["change_type"] == "revoke"
    assert body["friendly_name"] == "iPhone"
    assert _events("water") == []


def test_it_tells_them_about_an_emergency_stop_resumption_and_deletion(ssf: None) -> None:
    account = _two_services()
    actions.suspend_account(account, channel="session")
    actions.resume_account(account)
    actions.delete_account(account)
    kinds = [event_type for event_type, _ in _events("electricity")]
    assert kinds == [
        RISC + "account-disabled",
        CAEP + "session-revoked",
        RISC + "account-enabled",
        RISC + "account-disabled",
        CAEP + "session-revoked",
    ]
    assert _events("electricity")[3][1]["reason_admin"] == {"en": "account deleted"}
    assert OutboxEvent.objects.filter(stream__client_id="water").count() == 0
    assert OutboxEvent.objects.filter(account=account).count() == 5  # kept after deletion, still to deliver


def test_it_tells_the_services_of_a_login_session_when_it_is_logged_out(ssf: None) -> None:
    rp, _ = register()
    assert api("POST", "/ssf/streams", bearer(rp), {"delivery": {"method": POLL}}).status_code == 201
    browser = logged_in(resident())
    flow = run_flow(rp, browser)
    assert exchange(flow).status_code == 200
    response = browser.post("/oidc/logout/confirm", {"params": "{}", "decision": "logout"})
    assert response.status_code in (200, 302)
    ((event_type, body),) = _events("city-portal")
    assert event_type == CAEP + "session-revoked"
    assert body["initiating_entity"] == "user"
    assert HttpClient().get("/.well-known/ssf-configuration").status_code == 200
