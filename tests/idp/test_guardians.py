"""Children and guardians at the idp (issue #18 §1), below the browser: the counter's confirmation recorded with
what was checked, the guardian's approval of a service claim by claim, ``verified_claims`` marked as coming from the
register through the guardian, the guardian's stop, and the end of the guardianship at 18 (the clock moved).
The whole journey with both cards, J-LIS and Chromium is tests/interop/test_browser_guardian.py."""

from __future__ import annotations

import datetime
import secrets

import pytest
from django.utils import timezone

from anchorid.idp.accounts.models import Account, AnchorCertificate
from anchorid.idp.adoption.models import OnboardingCount
from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.guardians import service, transitions
from anchorid.idp.guardians.models import ChildAccount, Guardianship, ServiceApproval
from anchorid.idp.oidc import ida
from anchorid.idp.oidc.consent import decisions
from anchorid.jpki.attributes import BasicFourInfo, Gender

from .oidc_support import logged_in, provider, register, resident

__all__ = ["provider"]
TODAY = datetime.date(2026, 12, 7)
CHILD = BasicFourInfo.plain(
    "鎌倉　つむぎ", datetime.date(2016, 12, 10), Gender.FEMALE, "神奈川県鎌倉市御成町１８番１０号"
)


def _guardian() -> Account:
    account = resident("guardian-1")
    now = timezone.now()
    AnchorCertificate.objects.create(
        account=account, issuer_fingerprint="a" * 64, serial="1001", fingerprint="b" * 64, current=True,
        not_before=now, not_after=now + datetime.timedelta(days=900), status=AnchorCertificate.Status.GOOD,
    )  # fmt: skip
    return account


def _card() -> service.ChildCard:
    now = timezone.now()
    return service.ChildCard(secrets.randbelow(10**9), secrets.token_hex(32), "c" * 64, now,
                             now + datetime.timedelta(days=900))  # fmt: skip


def test_it_records_what_the_counter_checked_and_marks_the_childs_claims(provider: None) -> None:
    guardian = _guardian()
    with pytest.raises(service.GuardianRefused):  # a counter record names the staff and the documents
        service.confirm_at_counter(guardian, _card(), CHILD, staff="", documents=[])
    child = service.confirm_at_counter(guardian, _card(), CHILD, staff="市民課 窓口2", documents=["戸籍謄本"])
    guardianship = Guardianship.objects.get(child=child)
    assert guardianship.confirmed_by == "counter"
    assert guardianship.checked == {"source": "city_counter", "staff": "市民課 窓口2", "documents": ["戸籍謄本"]}
    assert child.attributes() == CHILD
    assert ChildAccount.objects.get(account=child).stage == "child"
    assert child.current_anchor() is not None
    assert OnboardingCount.objects.get().age_band == "0-14"  # counted for the city, band and sex only
    verified = ida.verified_claims(
        CHILD, ["name"], verified_at=timezone.now(), verified_how=child.attributes_verified_how
    )
    assert verified is not None
    assert verified["verification"][ida.VIA_GUARDIAN_MEMBER] == {"confirmed_by": "counter"}
    assert verified["verification"]["evidence"][0]["record"]["type"] == "jp_resident_register"
    adult = ida.verified_claims(CHILD, ["name"], verified_at=timezone.now())
    assert adult is not None
    assert ida.VIA_GUARDIAN_MEMBER not in adult["verification"]
    with pytest.raises(service.GuardianRefused):  # a child cannot be a guardian
        service.confirm_at_counter(child, _card(), CHILD, staff="x", documents=["y"])


def test_it_sends_the_childs_consent_to_the_guardian_who_approves_claim_by_claim(provider: None) -> None:
    guardian = _guardian()
    child = service.confirm_at_counter(guardian, _card(), CHILD, staff="窓口", documents=["住民票の写し"])
    _, client = register("city")
    assert service.full_guardian_of(child)
    approval = service.request_approval(child, client, {"name": True, "resident_of": True, "age_over_65": False})
    assert service.request_approval(child, client, {"name": True}).pk == approval.pk  # one pending per service
    stranger = resident("stranger", BasicFourInfo.plain("鎌倉　一郎", datetime.date(1970, 1, 1), Gender.MALE, "鎌倉市"))
    with pytest.raises(service.GuardianRefused):
        service.decide(stranger, approval.pk, approve=True, claims=set())
    approval = service.request_approval(child, client, {"name": True, "resident_of": True, "age_over_65": False})
    decided = service.decide(guardian, approval.pk, approve=True, claims=set())  # the optional claim unticked
    assert decided.status == ServiceApproval.Status.APPROVED
    assert decisions(child, client) == {"name": True, "resident_of": True, "age_over_65": False}
    events = AuditEntry.objects.filter(subject=str(child.pk), event_type="guardianship").values_list(
        "details", flat=True
    )
    assert {
        "action": "approved",
        "guardian": str(guardian.pk),
        "client_id": "city",
        "claims": ["name", "resident_of"],
    } in list(events)

    page = logged_in(guardian).get("/me/children/")
    assert page.status_code == 200
    assert "鎌倉　つむぎ" in page.content.decode()
    assert "子どものアカウント" in page.content.decode()  # Japanese first


def test_it_lets_the_guardian_stop_the_account_and_ends_the_guardianship_at_18(provider: None) -> None:
    guardian = _guardian()
    child = service.confirm_at_counter(guardian, _card(), CHILD, staff="窓口", documents=["戸籍謄本"])
    browser = logged_in(guardian)
    assert browser.post(f"/me/children/{child.pk}/stop/").status_code == 302
    child.refresh_from_db()
    assert child.status == Account.Status.SUSPENDED
    assert browser.post("/me/children/not-a-uuid/stop/").status_code == 404

    waiting = transitions.run(TODAY.replace(year=2031))  # 14: nothing changes
    assert waiting.ended == []
    assert waiting.reanchored == []
    done = transitions.run(datetime.date(2034, 12, 10))  # the 18th birthday
    assert done.ended == [str(child.pk)]
    guardianship = Guardianship.objects.get(child=child)
    assert guardianship.role == Guardianship.Role.ENDED
    assert guardianship.ended_at is not None
    assert ChildAccount.objects.get(account=child).stage == "adult"
    assert not service.full_guardian_of(child)
    assert "鎌倉　つむぎ" not in browser.get("/me/children/").content.decode()
