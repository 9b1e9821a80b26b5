"""The resident's "I moved" page: the services holding my address, my ticks saved (also before a move), the current
address queued once to ticked services that need it, per-service status; a forged service id changes nothing."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from anchorid.idp.oidc.models import ConsentDecision
from anchorid.idp.ssf.models import AddressForwarding, OutboxEvent

from .oidc_support import logged_in, register, resident
from .ssf_support import POLL, api, bearer, connect, provider, ssf

__all__ = ["provider", "ssf"]


def _setup():  # type: ignore[no-untyped-def]
    account = resident()
    for client_id, host in (("electricity", "power"), ("bank", "bank")):
        rp, client = register(client_id, redirect_uri=f"https://{host}.example/cb")
        assert api("POST", "/ssf/streams", bearer(rp), {"delivery": {"method": POLL}}).status_code == 201
        connect(account, client, forward=False)
    register("nosy", redirect_uri="https://nosy.example/cb")  # never given the address
    ConsentDecision.objects.update(decided_at=timezone.now() - timedelta(days=30))  # consented before the move
    return account


def test_it_lists_the_services_holding_my_address_in_japanese(ssf: None) -> None:
    account = _setup()
    page = logged_in(account).get("/me/moving/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "引っ越しました" in text
    assert 'name="forward" value="electricity"' in text
    assert 'name="forward" value="bank"' in text
    assert "nosy" not in text
    assert '<label class="checkbox" for="forward-1">' in text


def test_it_saves_my_ticks_and_sends_the_current_address_once(ssf: None) -> None:
    account = _setup()
    browser = logged_in(account)
    response = browser.post("/me/moving/", {"forward": ["bank"]})
    assert response.status_code == 302
    assert dict(AddressForwarding.objects.values_list("client_id", "forward")) == {"electricity": False, "bank": True}
    (event,) = OutboxEvent.objects.all()
    assert event.stream.client_id == "bank"
    page = browser.get("/me/moving/").content.decode()
    assert 'data-status="pending"' in page
    browser.post("/me/moving/", {"forward": ["bank"]})
    assert OutboxEvent.objects.count() == 1  # already sent: not again
    OutboxEvent.objects.update(state="delivered", delivered_at=timezone.now())
    assert 'data-status="delivered"' in browser.get("/me/moving/").content.decode()


def test_it_refuses_a_service_that_does_not_hold_my_address(ssf: None) -> None:
    account = _setup()
    browser = logged_in(account)
    response = browser.post("/me/moving/", {"forward": ["bank", "nosy"]})
    assert response.status_code == 302
    assert not AddressForwarding.objects.filter(forward=True).exists()
    assert not OutboxEvent.objects.exists()


def test_it_keeps_a_choice_made_before_the_move_while_the_address_is_stale(ssf: None) -> None:
    account = _setup()
    account.attributes_stale_since = timezone.now()
    account.attributes_stale_reason = "affiliationChanged"
    account.save()
    browser = logged_in(account)
    browser.post("/me/moving/", {"forward": ["electricity"]})
    assert AddressForwarding.objects.get(client_id="electricity").forward is True
    assert not OutboxEvent.objects.exists()


def test_it_needs_a_login(ssf: None) -> None:
    from django.test import Client as HttpClient

    response = HttpClient().get("/me/moving/")
    assert response.status_code == 302
