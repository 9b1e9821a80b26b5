"""Households and guardian relations in the register, reached over the operator API only with a request the
guardian signed with their card (issue #18 §1); a child's card has the authentication certificate alone."""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from anchorid.jlis import lifeevents
from anchorid.jlis.family import register_family
from anchorid.jlis.guardianship import DOCUMENT_TYPE
from anchorid.jlis.models import GuardianRelation, Resident
from anchorid.jpki.cardfile import CardFile, KeySlot

from .test_operator_api import OPERATOR_NAME

pytestmark = pytest.mark.django_db
GUARDIANSHIPS = "/api/operator/v1/guardianships"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _body(guardian: dict[str, Any], child_serial: str, card_sign: Any, *, signer: dict[str, Any] | None = None,
          operator: str = OPERATOR_NAME) -> bytes:  # fmt: skip
    from anchorid.jlis.models import Certificate

    document = json.dumps({
        "type": DOCUMENT_TYPE, "operator": operator, "purpose": "子のアカウント",
        "platform": "https://id.example", "child_certificate_serial": child_serial,
        "signed_at": datetime.datetime.now(datetime.UTC).isoformat(), "nonce": "n1",
    }).encode()  # fmt: skip
    signature = card_sign(Path((signer or guardian)["card_file"]), document)
    der = bytes(Certificate.objects.get(kind="sign", serial=int(guardian["signature_serial"])).der)
    return json.dumps({"document": _b64(document), "signature": _b64(signature), "certificate": _b64(der)}).encode()


def test_it_answers_the_guardian_of_a_child_with_an_auth_only_card(
    operator: Any, card_sign: Any, tmp_path: Path
) -> None:
    turns_15 = timezone.localdate() + datetime.timedelta(days=30)
    family = register_family(tmp_path, child_turns_15_on=turns_15)
    child, guardian = family["child"], family["guardian"]
    assert child["has_signature_certificate"] is False
    assert child["signature_serial"] is None
    assert len(child["authentication_pin"]) == 4
    assert child["authentication_pin"].isdigit()
    assert CardFile.load(Path(child["card_file"])).certificate(KeySlot.SIGNATURE) is None

    answer = operator.request("POST", GUARDIANSHIPS, _body(guardian, child["authentication_serial"], card_sign))
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["relation"] == "parent"
    assert body["same_household"] is True
    assert body["child"]["age"] == 14
    assert body["child"]["attributes"]["birth_date"] == turns_15.replace(year=turns_15.year - 15).isoformat()
    assert "register_guardian_relation" in body["checked"]

    # Not the guardian: another adult's card; a stranger's card signing for the guardian's certificate.
    other = register_family(tmp_path, child_turns_15_on=turns_15)["guardian"]
    refused = operator.request("POST", GUARDIANSHIPS, _body(other, child["authentication_serial"], card_sign))
    assert (refused.status_code, refused.json()["error"]) == (403, "not_guardian")
    forged = _body(guardian, child["authentication_serial"], card_sign, signer=other)
    assert operator.request("POST", GUARDIANSHIPS, forged).json()["error"] == "consent_signature_invalid"
    wrong_operator = _body(guardian, child["authentication_serial"], card_sign, operator="Other K.K.")
    assert operator.request("POST", GUARDIANSHIPS, wrong_operator).json()["error"] == "consent_operator_mismatch"
    unknown = operator.request("POST", GUARDIANSHIPS, _body(guardian, "12345", card_sign))
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_child_certificate")
    unsigned = operator.client.post(GUARDIANSHIPS, b"{}", content_type="application/json")
    assert unsigned.status_code == 401
    assert operator.request("POST", GUARDIANSHIPS, b"[]").status_code == 400

    # An ended relation is no relation.
    GuardianRelation.objects.filter(child_id=child["resident_id"]).update(ended_at=timezone.now())
    ended = operator.request("POST", GUARDIANSHIPS, _body(guardian, child["authentication_serial"], card_sign))
    assert ended.json()["error"] == "not_guardian"


def test_it_issues_the_signature_certificate_on_the_15th_birthday_paired_with_the_auth_one(tmp_path: Path) -> None:
    turns_15 = timezone.localdate() + datetime.timedelta(days=3)
    child = register_family(tmp_path, child_turns_15_on=turns_15)["child"]
    resident = Resident.objects.get(pk=child["resident_id"])
    with pytest.raises(lifeevents.LifeEventError):
        lifeevents.reissue_signature_certificate(resident)  # 14 today
    birthday = timezone.make_aware(datetime.datetime.combine(turns_15, datetime.time(10)))
    new = lifeevents.reissue_signature_certificate(resident, now=birthday)
    assert new.links_out.get().target.serial == int(child["authentication_serial"])  # 証明書紐付け: the pair
    assert CardFile.load(Path(child["card_file"])).certificate(KeySlot.SIGNATURE) is not None
