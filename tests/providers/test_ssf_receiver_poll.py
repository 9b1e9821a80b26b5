"""The RFC 8936 poll loop of the receiver library: SETs taken with the same checks and exactly-once recording as a
push, acknowledged in the next request, refused ones reported in ``setErrs`` with their RFC 8935 code, the last
acknowledgements sent with ``maxEvents: 0``; a second poll finds nothing. (The idp's own poll endpoint with a real
token is exercised in tests/interop/test_lifecycle_move.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from anchorid.providersim import customers
from anchorid.providersim.models import AddressChange, Customer
from anchorid.ssf_receiver.models import ReceivedSet
from anchorid.ssf_receiver.poll import poll
from support.ssf_transmitter import NEW_ADDRESS, Transmitter

from .conftest import PROVIDER

pytestmark = pytest.mark.django_db


class PlainCaller:
    """What ``poll`` needs of the stream client: JSON calls (here without a token: the test transmitter has none)."""

    def call(self, method: str, url: str, *, body: Any = None, expect: tuple[int, ...] = (200,)) -> Any:
        response = requests.request(method, url, json=body, timeout=10)
        assert response.status_code in expect
        return response.json()


def test_it_takes_acknowledges_and_reports(transmitter: Transmitter, provider_files: Path) -> None:
    Customer.objects.create(provider=PROVIDER, sub="sub-1", name="鎌倉 花子", address={"formatted": "旧住所"})
    good = [transmitter.claims() for _ in range(3)]
    for claims in good:
        transmitter.queue[claims["jti"]] = transmitter.sign(claims)
    wrong_audience = transmitter.claims(aud="providersim-water")
    transmitter.queue[wrong_audience["jti"]] = transmitter.sign(wrong_audience)
    transmitter.queue["listed-under-another-jti"] = transmitter.sign(transmitter.claims())
    transmitter.queue["not-a-set"] = "garbage"

    result = poll(customers.receiver(PROVIDER), PlainCaller(), f"{transmitter.issuer}/poll", max_events=2)

    assert result.applied == 3
    assert result.refused == {wrong_audience["jti"]: "invalid_audience", "listed-under-another-jti": "invalid_request",
                              "not-a-set": "invalid_request"}  # fmt: skip
    assert transmitter.queue == {}  # everything acknowledged or reported
    last = transmitter.poll_requests[-1]
    assert last["maxEvents"] == 0  # the final acknowledgements ask for nothing more
    acked = {jti for request in transmitter.poll_requests for jti in request["ack"]}
    assert acked == {claims["jti"] for claims in good}
    errors = {jti: e for request in transmitter.poll_requests for jti, e in request["setErrs"].items()}
    assert errors[wrong_audience["jti"]]["err"] == "invalid_audience"
    assert set(errors[wrong_audience["jti"]]) == {"err", "description"}
    assert Customer.objects.get().address == NEW_ADDRESS
    assert AddressChange.objects.count() == 1  # three SETs with the same new address: one change
    outcomes = sorted(ReceivedSet.objects.filter(via="poll").values_list("outcome", flat=True))
    assert outcomes == ["address updated", "claims noted", "claims noted"]

    again = poll(customers.receiver(PROVIDER), PlainCaller(), f"{transmitter.issuer}/poll")
    assert (again.applied, again.duplicates, again.refused) == (0, 0, {})


def test_it_acknowledges_a_set_delivered_again_without_applying_it(transmitter: Transmitter,
                                                                   provider_files: Path) -> None:  # fmt: skip
    Customer.objects.create(provider=PROVIDER, sub="sub-1", name="鎌倉 花子", address={"formatted": "旧住所"})
    claims = transmitter.claims()
    token = transmitter.sign(claims)
    transmitter.queue[claims["jti"]] = token
    assert poll(customers.receiver(PROVIDER), PlainCaller(), f"{transmitter.issuer}/poll").applied == 1
    transmitter.queue[claims["jti"]] = token  # the acknowledgement was lost: the transmitter sends it again
    again = poll(customers.receiver(PROVIDER), PlainCaller(), f"{transmitter.issuer}/poll")
    assert (again.applied, again.duplicates) == (0, 1)
    assert transmitter.queue == {}
    assert AddressChange.objects.count() == 1
