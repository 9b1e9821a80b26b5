"""The platform-operator API: signed requests only, consent signed by the card, current attributes, links."""

from __future__ import annotations

import base64
import datetime
import json
import time
from typing import Any

import pytest
from joserfc.jwk import ECKey

from anchorid.jlis import lifeevents
from anchorid.jlis.models import PlatformOperator
from anchorid.jlis.operator_api import CONSENT_DOCUMENT_TYPE

pytestmark = pytest.mark.django_db

OPERATOR_NAME = "Kamakura ID Platform K.K."
CONSENTS = "/api/operator/v1/consents"
NEW_ADDRESS = "神奈川県鎌倉市雪ノ下三丁目５番８号"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _consent_body(
    issued: Any, card_sign: Any, *, signer: Any = None, named_operator: str = OPERATOR_NAME, **extra: Any
) -> bytes:
    document = json.dumps(
        {
            "type": CONSENT_DOCUMENT_TYPE,
            "operator": named_operator,
            "purpose": "最新の基本4情報の提供",
            "signed_at": datetime.datetime.now(datetime.UTC).isoformat(),
            **extra,
        },
        ensure_ascii=False,
    ).encode()
    signature = card_sign((signer or issued).path, document)
    return json.dumps(
        {
            "document": _b64(document),
            "signature": _b64(signature),
            "certificate": _b64(bytes(issued.signature_certificate.der)),
        }
    ).encode()


def _attributes_path(row: Any) -> str:
    return f"/api/operator/v1/certificates/{row.kind}/{row.serial}/attributes"


def _lodge(operator: Any, issued: Any, card_sign: Any, **kwargs: Any) -> Any:
    return operator.request("POST", CONSENTS, _consent_body(issued, card_sign, **kwargs))


def _error(response: Any) -> str:
    code: str = response.json()["error"]
    return code


def test_it_refuses_an_unsigned_request(client: Any, counter: Any) -> None:
    response = client.get(_attributes_path(counter.adult.signature_certificate))
    assert response.status_code == 401
    assert _error(response) == "missing_signature"


def test_it_refuses_a_request_signed_with_another_key(operator: Any, counter: Any) -> None:
    response = operator.request(
        "GET", _attributes_path(counter.adult.signature_certificate), key=ECKey.generate_key("P-256")
    )
    assert response.status_code == 401
    assert _error(response) == "bad_signature"


def test_it_refuses_an_unknown_operator(operator: Any, counter: Any) -> None:
    PlatformOperator.objects.update(active=False)
    response = operator.request("GET", _attributes_path(counter.adult.signature_certificate))
    assert (response.status_code, _error(response)) == (401, "unknown_operator")


def test_it_refuses_a_replayed_jti(operator: Any, counter: Any) -> None:
    path = _attributes_path(counter.adult.signature_certificate)
    operator.request("GET", path, jti="once")
    response = operator.request("GET", path, jti="once")
    assert (response.status_code, _error(response)) == (401, "replayed_request")


def test_it_refuses_a_stale_iat(operator: Any, counter: Any) -> None:
    response = operator.request(
        "GET", _attributes_path(counter.adult.signature_certificate), iat=int(time.time()) - 120
    )
    assert (response.status_code, _error(response)) == (401, "stale_request")


def test_it_refuses_a_signature_made_for_another_url(operator: Any, counter: Any) -> None:
    path = _attributes_path(counter.adult.signature_certificate)
    response = operator.request("GET", path, sign_path=_attributes_path(counter.other_adult.signature_certificate))
    assert (response.status_code, _error(response)) == (401, "request_mismatch")


def test_it_refuses_garbage_in_the_authorization_header(client: Any, counter: Any) -> None:
    response = client.get(_attributes_path(counter.adult.signature_certificate), HTTP_AUTHORIZATION="AnchorID-JWS x.y")
    assert (response.status_code, _error(response)) == (401, "malformed_signature")


def test_it_refuses_attributes_without_consent(operator: Any, counter: Any) -> None:
    response = operator.request("GET", _attributes_path(counter.adult.signature_certificate))
    assert (response.status_code, _error(response)) == (403, "no_consent")


def test_it_lodges_a_consent_and_answers_current_attributes_after_a_move(
    operator: Any, fresh: Any, card_sign: Any
) -> None:
    lodged = _lodge(operator, fresh, card_sign)
    assert lodged.status_code == 201, lodged.content
    lifeevents.move(fresh.card.resident, address=NEW_ADDRESS)
    response = operator.request("GET", _attributes_path(fresh.signature_certificate))
    assert response.status_code == 200
    body = response.json()
    assert body["attributes"]["address"] == NEW_ADDRESS
    assert body["attributes"]["name"] == "鎌倉\u3000花子"
    assert body["attributes"]["birth_date_jpki"] == "419900401"
    assert body["current_signature_certificate_serial"] is None
    new = lifeevents.reissue_signature_certificate(fresh.card.resident)
    again = operator.request("GET", _attributes_path(fresh.signature_certificate)).json()
    assert again["current_signature_certificate_serial"] == str(new.serial)


def test_it_refuses_attributes_after_the_consent_is_withdrawn(operator: Any, fresh: Any, card_sign: Any) -> None:
    consent_id = _lodge(operator, fresh, card_sign).json()["consent_id"]
    withdrawn = operator.request("DELETE", f"{CONSENTS}/{consent_id}")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["withdrawn_at"] is not None
    response = operator.request("GET", _attributes_path(fresh.signature_certificate))
    assert (response.status_code, _error(response)) == (403, "consent_withdrawn")


def test_it_refuses_a_consent_signed_by_another_card(operator: Any, fresh: Any, counter: Any, card_sign: Any) -> None:
    response = _lodge(operator, fresh, card_sign, signer=counter.other_adult)
    assert (response.status_code, _error(response)) == (400, "consent_signature_invalid")


def test_it_refuses_a_consent_for_another_operator(operator: Any, fresh: Any, card_sign: Any) -> None:
    response = _lodge(operator, fresh, card_sign, named_operator="Someone Else")
    assert (response.status_code, _error(response)) == (400, "consent_operator_mismatch")


def test_it_refuses_a_consent_signed_with_a_revoked_certificate(operator: Any, fresh: Any, card_sign: Any) -> None:
    lifeevents.move(fresh.card.resident, address=NEW_ADDRESS)
    response = _lodge(operator, fresh, card_sign)
    assert (response.status_code, _error(response)) == (400, "certificate_not_good")


def test_it_refuses_a_certificate_it_did_not_issue(operator: Any, fresh: Any, card_sign: Any) -> None:
    body = json.loads(_consent_body(fresh, card_sign))
    body["certificate"] = _b64(b"not a certificate")
    response = operator.request("POST", CONSENTS, json.dumps(body).encode())
    assert (response.status_code, _error(response)) == (400, "invalid_certificate")


def test_it_refuses_a_body_that_is_not_json(operator: Any) -> None:
    response = operator.request("POST", CONSENTS, b"{")
    assert (response.status_code, _error(response)) == (400, "invalid_request")


def test_it_answers_unknown_certificates_with_404(operator: Any) -> None:
    response = operator.request("GET", "/api/operator/v1/certificates/sign/1/attributes")
    assert (response.status_code, _error(response)) == (404, "unknown_certificate")


def test_it_answers_the_old_new_chain_and_the_pair(operator: Any, fresh: Any) -> None:
    lifeevents.move(fresh.card.resident, address=NEW_ADDRESS)
    new = lifeevents.reissue_signature_certificate(fresh.card.resident)
    old = fresh.signature_certificate
    body = operator.request("GET", f"/api/operator/v1/certificates/sign/{old.serial}/links").json()
    assert [c["serial"] for c in body["chain"]] == [str(old.serial), str(new.serial)]
    assert body["chain"][0]["revocation_reason"] == "affiliationChanged"
    assert body["latest"]["serial"] == str(new.serial)
    assert [c["serial"] for c in body["paired"]] == [str(fresh.authentication_certificate.serial)]
    auth = operator.request(
        "GET", f"/api/operator/v1/certificates/auth/{fresh.authentication_certificate.serial}/links"
    )
    assert {c["serial"] for c in auth.json()["paired"]} == {str(old.serial), str(new.serial)}
