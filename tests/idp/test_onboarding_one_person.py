"""One person, one account: renewed and re-issued cards recover the account; 50 concurrent onboardings make one."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from anchorid.idp.accounts.models import Account, AnchorCertificate
from anchorid.idp.audit.models import AuditEntry

from .onboarding_support import (
    ADULT_CONCURRENT,
    ADULT_MOVED,
    ADULT_RENEWED,
    ADULT_SUSPENDED,
    Helper,
    Jlis,
    card_certificate,
    complete,
    onboard,
    open_page,
)

CONCURRENT_ONBOARDINGS = 50


@pytest.mark.django_db
def test_it_recovers_the_account_of_a_resident_with_a_renewed_certificate(
    idp: Jlis, card_helper: Callable[..., Helper]
) -> None:
    card = idp.adult(ADULT_RENEWED)
    helper = card_helper(card["card_file"], card["signature_pin"])
    assert onboard(Client(), helper).status_code == 201
    old_serial = str(card_certificate(card["card_file"]).serial_number)
    idp.cli("reissue-signature", "--resident", str(card["resident_id"]))
    response = onboard(Client(), helper)
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "recovered"
    account = Account.objects.get()
    current = account.current_anchor()
    assert current is not None
    assert current.serial == str(card_certificate(card["card_file"]).serial_number) != old_serial
    assert AnchorCertificate.objects.get(serial=old_serial).current is False
    assert [e.details["account_recovered"] for e in AuditEntry.objects.filter(event_type="onboarding")] == [
        False,
        True,
    ]


@pytest.mark.django_db
def test_it_recovers_a_moved_resident_through_the_jlis_certificate_links(
    idp: Jlis, card_helper: Callable[..., Helper]
) -> None:
    card = idp.adult(ADULT_MOVED)
    helper = card_helper(card["card_file"], card["signature_pin"])
    assert onboard(Client(), helper).status_code == 201
    before = Account.objects.get().attributes()
    resident = str(card["resident_id"])
    idp.cli("move", "--resident", resident, "--address", "神奈川県鎌倉市雪ノ下三丁目５番１号")
    idp.cli("reissue-signature", "--resident", resident)
    response = onboard(Client(), helper)
    assert response.json()["outcome"] == "recovered"  # different address: only jlis's old→new link finds the person
    account = Account.objects.get()
    after = account.attributes()
    assert before is not None
    assert after is not None
    assert after.address == "神奈川県鎌倉市雪ノ下三丁目５番１号" != before.address
    assert AnchorCertificate.objects.filter(account=account).count() == 2
    change = AuditEntry.objects.get(event_type="attribute_change")
    assert change.details == {"attributes": ["address"], "source": "card_renewal", "stale": False}


@pytest.mark.django_db
def test_it_does_not_log_a_suspended_account_in(idp: Jlis, card_helper: Callable[..., Helper]) -> None:
    card = idp.adult(ADULT_SUSPENDED)
    helper = card_helper(card["card_file"], card["signature_pin"])
    assert onboard(Client(), helper).status_code == 201
    Account.objects.update(status=Account.Status.SUSPENDED)
    response = onboard(Client(), helper)
    assert response.status_code == 403
    assert response.json()["error"] == "account_not_usable"
    assert Account.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_makes_exactly_one_account_from_50_concurrent_onboardings_of_one_person(
    idp: Jlis, card_helper: Callable[..., Helper]
) -> None:
    card = idp.adult(ADULT_CONCURRENT)
    helper = card_helper(card["card_file"], card["signature_pin"])
    prepared: list[tuple[Client, str, dict[str, str]]] = []
    for _ in range(CONCURRENT_ONBOARDINGS):  # each browser opens its own challenge, the card signs each
        client = Client()
        challenge, _, _ = open_page(client)
        prepared.append((client, challenge, helper.sign(challenge).json()))
    start = threading.Barrier(CONCURRENT_ONBOARDINGS)
    outcomes: list[Any] = []

    def run(client: Client, challenge: str, signed: dict[str, str]) -> None:
        try:
            start.wait()
            response = complete(client, challenge, **signed)
            outcomes.append(response.json().get("outcome") or response.json().get("error"))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in prepared]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert Counter(outcomes) == {"created": 1, "already_registered": CONCURRENT_ONBOARDINGS - 1}
    assert Account.objects.count() == 1
    assert AnchorCertificate.objects.count() == 1
    assert AuditEntry.objects.filter(event_type="onboarding").count() == 1
