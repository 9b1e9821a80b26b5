"""The providers' session rows, read as an attacker with a copy of the database would: nothing in clear."""

from __future__ import annotations

import pytest
from django.test import Client

from anchorid.common.rp.client import PendingLogin
from support.session_rows import raw_session_payloads

pytestmark = pytest.mark.django_db


def test_it_keeps_the_session_payload_encrypted_in_the_session_rows() -> None:
    browser = Client()
    session = browser.session
    session["providersim_water_sub"] = "pairwise-sub-4d1e"
    pending = PendingLogin(state="state-9a7f", nonce="nonce-3c2b", code_verifier="verifier-8e6d")
    session["providersim_bank_pending"] = pending.as_dict()
    session.save()
    assert browser.session["providersim_water_sub"] == "pairwise-sub-4d1e"  # it reads back

    payloads = raw_session_payloads()
    assert len(payloads) == 1
    for clear in (b"pairwise-sub-4d1e", b"state-9a7f", b"nonce-3c2b", b"verifier-8e6d", b"providersim_"):
        assert clear not in payloads[0]
