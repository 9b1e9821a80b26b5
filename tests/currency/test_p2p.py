"""Transfers between residents: the recipient named by the receive code they show (never by their ``sub``), purchased
coins only, a limit per tier, a passkey step-up above the configured amount, and refusals that write nothing."""

from __future__ import annotations

import re

import pytest
from django.core import signing
from django.test import Client

from anchorid.currency import service, views
from anchorid.currency.ledger.models import Transfer
from anchorid.currency.models import Member

from .conftest import RESIDENT, VISITOR, log_in

pytestmark = pytest.mark.django_db


def receive_code(client: Client) -> str:
    page = client.get("/receive/")
    assert page.status_code == 200
    found = re.search(r'id="receive-payload">([^<]+)<', page.content.decode())
    assert found
    return found.group(1)


@pytest.fixture
def pair() -> tuple[Client, Member, Client, Member]:
    sender, recipient = Client(), Client()
    alice = log_in(sender, "alice-sub", RESIDENT)
    bob = log_in(recipient, "bob-sub", RESIDENT)
    service.charge(alice, 10_000, "charge-alice")  # + 1,000 premium coins, which cannot be sent
    return sender, alice, recipient, bob


def transfers() -> int:
    return Transfer.objects.filter(code=5).count()


def test_it_sends_purchased_coins_to_the_resident_whose_code_was_shown(
    pair: tuple[Client, Member, Client, Member],
) -> None:
    sender, alice, recipient, bob = pair
    code = receive_code(recipient)
    assert "bob-sub" not in code
    assert "alice-sub" not in sender.get("/send/").content.decode()
    opened = sender.get("/send/", {"code": code}).content.decode()  # what the QR's address opens
    assert f'value="{code}"' in opened
    for _ in range(2):  # a double submit of one form moves the coins once
        answer = sender.post("/send/", {"code": code, "amount": "2,500", "transfer_id": "send-1"})
        assert answer.status_code == 302
    assert service.balance(bob) == 2_500
    assert service.balance(alice) == 11_000 - 2_500
    assert [h.kind for h in service.holdings(bob)] == ["purchased"]  # the coins keep what they are, and their expiry
    refused = sender.post("/send/", {"code": code, "amount": "9000", "transfer_id": "send-2"})  # premium coins stay
    assert refused.status_code == 302
    assert service.balance(bob) == 2_500


@pytest.mark.parametrize("amount", ["-1", "0", "0.5", "1e3", "99999999", "", "abc", "５００"])
def test_it_refuses_bad_amounts_writing_nothing(pair: tuple[Client, Member, Client, Member], amount: str) -> None:
    sender, _alice, recipient, _bob = pair
    before = Transfer.objects.count()
    answer = sender.post("/send/", {"code": receive_code(recipient), "amount": amount, "transfer_id": "send-x"})
    assert answer.status_code == 400
    assert "send-error" in answer.content.decode()
    assert Transfer.objects.count() == before


def test_it_refuses_a_transfer_to_oneself(pair: tuple[Client, Member, Client, Member]) -> None:
    sender, _alice, _recipient, _bob = pair
    answer = sender.post("/send/", {"code": receive_code(sender), "amount": "100", "transfer_id": "send-self"})
    assert answer.status_code == 400
    assert "自分" in answer.content.decode() or "yourself" in answer.content.decode()
    assert transfers() == 0


def test_it_refuses_visitors_either_side_and_above_the_tier_limit(pair: tuple[Client, Member, Client, Member]) -> None:
    sender, alice, recipient, _bob = pair
    visitor = Client()
    guest = log_in(visitor, "visitor-sub", VISITOR)
    service.charge(guest, 5_000, "charge-guest")
    assert visitor.get("/send/").status_code == 403
    assert visitor.get("/receive/").status_code == 403
    assert (
        visitor.post("/send/", {"code": receive_code(recipient), "amount": "10", "transfer_id": "s-v"}).status_code
        == 403
    )
    # a visitor's code, made as the page would if a visitor could show one
    guest_code = views.RECEIVE_PREFIX + signing.TimestampSigner(salt=views.RECEIVE_SALT).sign(str(guest.pk))
    assert sender.post("/send/", {"code": guest_code, "amount": "10", "transfer_id": "s-g"}).status_code == 400
    over = service.P2P_LIMIT[Member.RESIDENT] + 1
    service.charge(alice, 100_000, "charge-more")
    answer = sender.post("/send/", {"code": receive_code(recipient), "amount": str(over), "transfer_id": "s-big"})
    assert answer.status_code == 400
    assert transfers() == 0
    with pytest.raises(service.Refused):
        service.send(guest, alice, 10, "s-direct")


def test_it_refuses_tampered_and_expired_codes(pair: tuple[Client, Member, Client, Member]) -> None:
    sender, _alice, recipient, bob = pair
    code = receive_code(recipient)
    signer = signing.TimestampSigner(salt=views.RECEIVE_SALT)
    expired = views.RECEIVE_PREFIX + signer.sign(str(bob.pk))
    tampered = [code[:-2] + ("AA" if not code.endswith("AA") else "BB"), code.replace("KMR1:", "KMC1:"),
                views.RECEIVE_PREFIX + f"{bob.pk + 1}:" + code.rsplit(":", 1)[1], "KMR1:" + "x" * 200]  # fmt: skip
    for bad in tampered:
        answer = sender.post("/send/", {"code": bad, "amount": "10", "transfer_id": "s-t"})
        assert answer.status_code == 400, bad
    views_max_age = views.RECEIVE_SECONDS
    try:
        views.RECEIVE_SECONDS = -1  # the same code, now past its validity
        answer = sender.post("/send/", {"code": expired, "amount": "10", "transfer_id": "s-e"})
    finally:
        views.RECEIVE_SECONDS = views_max_age
    assert answer.status_code == 400
    assert transfers() == 0


def test_it_asks_for_the_passkey_above_the_step_up_amount(
    pair: tuple[Client, Member, Client, Member], monkeypatch: pytest.MonkeyPatch
) -> None:
    sender, _alice, recipient, bob = pair
    monkeypatch.setenv("ANCHORID_CURRENCY_STEP_UP_YEN", "1000")
    answer = sender.post("/send/", {"code": receive_code(recipient), "amount": "1500", "transfer_id": "s-up"})
    # Not sent: the transfer waits for a fresh passkey login at AnchorID (not set up in this test, so the resident
    # is told AnchorID cannot be reached; the browser test walks the real step-up for payments, the same path).
    assert answer.status_code == 302
    assert transfers() == 0
    assert service.balance(bob) == 0
    below = sender.post("/send/", {"code": receive_code(recipient), "amount": "900", "transfer_id": "s-low"})
    assert below.status_code == 302
    assert service.balance(bob) == 900
