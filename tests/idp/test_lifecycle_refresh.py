"""The refresh consent (signed by the card through the real helper, lodged at a real jlis, withdrawable) and the
consented refresh after a move: current attributes from jlis, re-anchoring on the linked new certificate."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.test import Client

from anchorid.idp import jlis_client
from anchorid.idp.accounts.models import Account, AnchorCertificate
from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.lifecycle.models import Notice, RefreshConsent
from anchorid.idp.lifecycle.sweep import run_sweep

from . import lifecycle_support as support
from . import ssf_support
from .lifecycle_support import (
    ADULT_CONSENT,
    ADULT_OTHER_CARD,
    ADULT_PLAIN,
    ADULT_SSF,
    Helper,
    Jlis,
    card_serial,
    onboarded,
)
from .onboarding_support import IDP_ORIGIN

provider, ssf = ssf_support.provider, ssf_support.ssf  # fixtures
CLAIMS_CHANGE = "https://schemas.openid.net/secevent/caep/event-type/claims-change"


def _sign_consent(helper: Helper, document: str, origin: str = IDP_ORIGIN) -> requests.Response:
    return requests.post(
        f"{helper.url}/v1/sign-consent", json={"document": document}, headers={"Origin": origin}, timeout=30
    )


def _sign_and_complete(client: Client, helper: Helper, document: str) -> Any:
    """The helper signs ``document``; the page posts the signature to the idp (what consent.js does)."""
    signed = _sign_consent(helper, document)
    assert signed.status_code == 200, signed.text
    return client.post(
        "/me/refresh-consent/complete/",
        data=json.dumps({"document": document, **signed.json()}),
        content_type="application/json",
    )


def _give_consent(client: Client, helper: Helper) -> Any:
    page = client.get("/me/refresh-consent/")
    assert page.status_code == 200
    return _sign_and_complete(client, helper, page.context["document"])


@pytest.mark.django_db
def test_it_refreshes_a_consenting_residents_attributes_after_a_move_and_reanchors_on_the_new_certificate(
    jlis: Jlis, card_helper: Callable[..., Helper], django_capture_on_commit_callbacks: Any
) -> None:
    account, client, helper, card = onboarded(jlis, card_helper, ADULT_CONSENT)
    answer = _give_consent(client, helper)
    assert answer.status_code == 200, answer.content
    consent = RefreshConsent.objects.get(account=account)
    assert consent.standing
    assert consent.certificate_serial == str(card_serial(card))
    given = AuditEntry.objects.get(event_type="consent_given")
    assert given.details == {
        "client_id": "jlis",
        "claims": ["name", "address", "birthdate", "gender"],
        "consent_id": f"jlis-{consent.jlis_consent_id}",
    }
    old_serial = card_serial(card)
    new_address = "神奈川県鎌倉市由比ガ浜二丁目1番1号"
    jlis.cli("move", "--resident", str(card["resident_id"]), "--address", new_address)

    with django_capture_on_commit_callbacks(execute=True):
        summary = run_sweep()

    assert summary.newly_revoked == {"affiliationChanged": 1}
    assert summary.refreshed == 1
    assert summary.reanchored == 0  # no new certificate yet: the resident has not been to the counter
    assert summary.reverify_notices == 0
    account.refresh_from_db()
    assert not account.attributes_stale
    info = account.attributes()
    assert info is not None
    assert info.address == new_address
    assert account.attributes_verified_how == "jlis-current-attributes"
    change = AuditEntry.objects.get(event_type="attribute_change")
    assert change.details == {"attributes": ["address"], "source": "jlis_current_attributes", "stale": False}
    assert new_address not in json.dumps([e.details for e in AuditEntry.objects.all()], ensure_ascii=False)
    assert Notice.objects.filter(account=account, kind=Notice.Kind.ATTRIBUTES_REFRESHED).count() == 1

    # The next counter visit: a new signature certificate, linked old → new at jlis; the next sweep re-anchors.
    jlis.cli("reissue-signature", "--resident", str(card["resident_id"]))
    new_serial = card_serial(card)
    assert new_serial != old_serial
    summary = run_sweep()
    assert summary.reanchored == 1
    current = account.current_anchor()
    assert current is not None
    assert current.serial == str(new_serial)
    assert current.status == AnchorCertificate.Status.GOOD
    assert AnchorCertificate.objects.get(serial=str(old_serial)).current is False
    relinked = AuditEntry.objects.get(event_type="anchor_relinked")
    assert relinked.details["previous_fingerprint"] != relinked.details["certificate_fingerprint"]
    assert run_sweep().reanchored == 0  # done: nothing left to link

    # Withdrawal: unused at once and withdrawn at jlis too.
    assert client.post("/me/refresh-consent/withdraw/").status_code == 302
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None
    assert not consent.withdrawal_pending
    with pytest.raises(jlis_client.JlisRefused) as refused:
        jlis_client.current_attributes(new_serial)
    assert refused.value.code == "consent_withdrawn"


@pytest.mark.django_db
def test_it_refuses_a_consent_signed_by_another_card_and_changes_nothing(
    jlis: Jlis, card_helper: Callable[..., Helper]
) -> None:
    _account, client, _helper, _card = onboarded(jlis, card_helper, ADULT_PLAIN)
    other = jlis.adult(ADULT_OTHER_CARD)
    other_helper = card_helper(other["card_file"], other["signature_pin"])
    page = client.get("/me/refresh-consent/")
    answer = _sign_and_complete(client, other_helper, page.context["document"])
    assert answer.status_code == 400
    assert answer.json()["error"] == "not_current_anchor"
    assert not RefreshConsent.objects.exists()
    assert not AuditEntry.objects.filter(event_type="consent_given").exists()


@pytest.mark.django_db
def test_it_refuses_a_document_the_page_did_not_prepare(jlis: Jlis, card_helper: Callable[..., Helper]) -> None:
    _account, client, helper, _card = onboarded(jlis, card_helper, ADULT_PLAIN)
    page = client.get("/me/refresh-consent/")
    tampered = json.loads(page.context["document"])
    tampered["purpose"] = "something else"
    document = json.dumps(tampered, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    answer = _sign_and_complete(client, helper, document)
    assert answer.status_code == 400
    assert answer.json()["error"] == "unknown_document"
    bad = client.post("/me/refresh-consent/complete/", data=b"not json", content_type="application/json")
    assert bad.status_code == 400
    assert not RefreshConsent.objects.exists()


@pytest.mark.django_db
def test_it_has_the_helper_sign_only_attribute_consents_for_its_own_site(
    jlis: Jlis, card_helper: Callable[..., Helper]
) -> None:
    card = jlis.adult(ADULT_PLAIN)
    helper = card_helper(card["card_file"], card["signature_pin"])
    good = {
        "type": "anchorid.jlis.attribute-consent/1",
        "operator": "anchorid-idp",
        "purpose": "p",
        "signed_at": "2026-01-01T00:00:00+00:00",
        "platform": IDP_ORIGIN,
        "nonce": "n",
    }
    other_site = _sign_consent(helper, json.dumps({**good, "platform": "https://evil.example"}))
    assert (other_site.status_code, other_site.json()["error"]) == (403, "origin_mismatch")
    for bad in ("not json", json.dumps({**good, "type": "something/1"}), json.dumps({**good, "extra": "x"})):
        refused = _sign_consent(helper, bad)
        assert (refused.status_code, refused.json()["error"]) == (400, "bad_request")


@pytest.mark.django_db
def test_it_keeps_a_withdrawal_pending_while_jlis_is_unreachable_and_sends_it_later(
    jlis: Jlis, card_helper: Callable[..., Helper], settings: Any
) -> None:
    account, client, helper, _card = onboarded(jlis, card_helper, ADULT_PLAIN)
    assert _give_consent(client, helper).status_code == 200
    settings.ANCHORID_JLIS_URL = support.closed_port_url()
    assert client.post("/me/refresh-consent/withdraw/").status_code == 302
    consent = RefreshConsent.objects.get(account=account)
    assert consent.withdrawn_at is not None
    assert consent.withdrawal_pending
    settings.ANCHORID_JLIS_URL = jlis.url
    run_sweep()
    consent.refresh_from_db()
    assert not consent.withdrawal_pending
    with pytest.raises(jlis_client.JlisRefused):
        jlis_client.current_attributes(int(consent.certificate_serial))
    assert Account.objects.get(pk=account.pk).status == Account.Status.ACTIVE


@pytest.mark.django_db
def test_it_queues_the_new_address_for_the_services_the_resident_chose_in_the_refresh_transaction(
    ssf: None, jlis: Jlis, card_helper: Callable[..., Helper]
) -> None:
    from joserfc import jwt
    from joserfc.jwk import KeySet

    from anchorid.idp.oidc import jwks
    from anchorid.idp.oidc.pairwise import subject_for
    from anchorid.idp.ssf.models import OutboxEvent

    account, client, helper, card = onboarded(jlis, card_helper, ADULT_SSF)
    assert _give_consent(client, helper).status_code == 200
    electricity, chosen = ssf_support.register("electricity", redirect_uri="https://power.example/cb")
    water, not_chosen = ssf_support.register("water", redirect_uri="https://water.example/cb")
    for rp in (electricity, water):
        created = ssf_support.api(
            "POST", "/ssf/streams", ssf_support.bearer(rp), {"delivery": {"method": ssf_support.POLL}}
        )
        assert created.status_code in (200, 201), created.content
    ssf_support.connect(account, chosen)
    ssf_support.connect(account, not_chosen, forward=False)
    new_address = "神奈川県鎌倉市材木座五丁目6番7号"
    jlis.cli("move", "--resident", str(card["resident_id"]), "--address", new_address)

    summary = run_sweep()

    assert summary.refreshed == 1
    event = OutboxEvent.objects.get()  # the water company was not ticked for forwarding
    assert event.stream.client_id == "electricity"
    keys = KeySet.import_key_set(jwks.jwks_document())  # type: ignore[arg-type]
    claims = jwt.decode(event.token, keys, algorithms=["ES256"]).claims
    assert claims["sub_id"]["sub"] == subject_for(chosen.sector, chosen.public_sub, str(account.pk))
    changed = claims["events"][CLAIMS_CHANGE]["claims"]
    assert changed["address"]["formatted"] == new_address
    assert changed["address"]["locality"] == "鎌倉市"
    assert "name" not in changed  # only what changed, and only what this client may see
