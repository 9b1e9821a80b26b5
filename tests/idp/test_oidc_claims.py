"""Claims, per-claim consent, pairwise sub (OIDC Core §8.1) and verified_claims (OIDC4IDA)."""

from __future__ import annotations

import datetime

from django.test import Client as HttpClient
from django.utils import timezone

from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.oidc import claims, ida
from anchorid.jpki.attributes import BasicFourInfo, Gender

from .oidc_support import (
    ISSUER,
    Pkce,
    authorize_url,
    decode,
    exchange,
    logged_in,
    provider,
    push,
    register,
    resident,
    run_flow,
)

__all__ = ["provider"]


def _userinfo(rp, access_token):  # type: ignore[no-untyped-def]
    return (
        HttpClient()
        .get(
            "/oidc/userinfo",
            headers={
                "Authorization": "DPoP " + access_token,
                "DPoP": rp.proof("GET", ISSUER + "/oidc/userinfo", access_token=access_token),
            },
        )
        .json()
    )


def _sub(rp, browser):  # type: ignore[no-untyped-def]
    return decode(exchange(run_flow(rp, browser)).json()["id_token"])["sub"]


def test_it_two_sectors_get_unlinkable_subs_and_one_sector_a_stable_one(provider: None) -> None:
    account = resident()
    browser = logged_in(account)
    city, _ = register("city", redirect_uri="https://city.example/cb")
    bank, _ = register("bank", redirect_uri="https://bank.example/cb")
    library, _ = register("library", redirect_uri="https://library.city.example/cb",
                          sector_identifier_uri="https://city.example/sector.json")  # fmt: skip
    first = _sub(city, browser)
    assert _sub(city, browser) == first
    assert _sub(bank, browser) != first
    assert _sub(library, browser) == first  # same sector (city.example)
    assert str(account.pk) not in (first, _sub(bank, browser))


def test_it_a_public_sub_only_for_allowed_clients(provider: None) -> None:
    account = resident()
    rp, _ = register("registry", redirect_uri="https://registry.example/cb", public_sub=True)
    assert _sub(rp, logged_in(account)) == str(account.pk)


def test_it_a_deselected_optional_claim_is_absent(provider: None) -> None:
    rp, _ = register()
    browser = logged_in(resident())
    flow = run_flow(rp, browser, scope="openid profile address", consent={"claim": ["name", "address"]})
    info = _userinfo(rp, exchange(flow).json()["access_token"])
    assert info["name"] == "鎌倉　花子"
    assert "address" in info
    assert "birthdate" not in info
    assert "gender" not in info
    # the next login with the same request does not ask again, and still leaves the birth date out
    again = run_flow(rp, browser, scope="openid profile address")
    assert "birthdate" not in _userinfo(rp, exchange(again).json()["access_token"])


def test_it_asking_for_more_prompts_again(provider: None) -> None:
    rp, _ = register()
    browser = logged_in(resident())
    run_flow(rp, browser, scope="openid profile")
    pushed = push(HttpClient(), rp, Pkce(), scope="openid profile anchorid:age").json()
    page = browser.get(authorize_url(rp, pushed["request_uri"]))
    assert page.status_code == 200
    assert {row.claim for row in page.context["rows"]} >= {"age_over_18", "age_over_65"}


def test_it_essential_claims_cannot_be_deselected(provider: None) -> None:
    rp, _ = register()
    browser = logged_in(resident())
    flow = run_flow(rp, browser, scope="openid", claims='{"id_token": {"name": {"essential": true}}}',
                    consent={"claim": []})  # fmt: skip
    assert decode(exchange(flow).json()["id_token"])["name"] == "鎌倉　花子"


def test_it_consent_is_audit_logged_without_values(provider: None) -> None:
    rp, _ = register()
    run_flow(rp, logged_in(resident()), scope="openid address")
    entry = AuditEntry.objects.filter(event_type="consent_given").get()
    assert entry.details["claims"] == ["address"]
    assert "鎌倉" not in str(entry.details)


def test_it_derived_claims_reveal_only_what_they_say(provider: None) -> None:
    rp, _ = register()
    flow = run_flow(rp, logged_in(resident()), scope="openid anchorid:age anchorid:residence")
    info = _userinfo(rp, exchange(flow).json()["access_token"])
    assert info["age_over_18"] is True
    assert info["age_over_65"] is False
    assert info["resident_of"] == "142042"
    assert "birthdate" not in info
    assert "address" not in info


def test_it_age_is_computed_on_the_birthday() -> None:
    born = datetime.date(2008, 3, 1)
    assert claims.age_on(born, datetime.date(2026, 2, 28)) == 17
    assert claims.age_on(born, datetime.date(2026, 3, 1)) == 18


def test_it_structured_address() -> None:
    address = claims.structured_address("神奈川県鎌倉市御成町１８番１０号")
    assert address == {"formatted": "神奈川県鎌倉市御成町１８番１０号", "country": "JP", "region": "神奈川県",
                       "locality": "鎌倉市", "street_address": "御成町１８番１０号"}  # fmt: skip
    assert claims.municipality_code("東京都千代田区霞が関") == "131016"
    assert claims.municipality_code("北海道札幌市") is None


def test_it_verified_claims_describe_the_jpki_check(provider: None) -> None:
    rp, _ = register()
    request = '{"userinfo": {"verified_claims": {"verification": {"trust_framework": null}, "claims": {"name": null}}}}'
    flow = run_flow(rp, logged_in(resident()), scope="openid", claims=request)
    verified = _userinfo(rp, exchange(flow).json()["access_token"])["verified_claims"]
    assert verified["claims"] == {"name": "鎌倉　花子"}
    verification = verified["verification"]
    assert verification["trust_framework"] == "jp_jpki"
    assert verification["evidence"][0]["type"] == "electronic_record"
    assert "time" in verification
    assert ida.STALE_MEMBER not in verification


def test_it_verified_claims_carry_a_stale_mark_once_the_anchor_is_revoked(provider: None) -> None:
    rp, _ = register()
    account = resident()
    request = '{"userinfo": {"verified_claims": {"claims": {"address": null}}}}'
    flow = run_flow(rp, logged_in(account), scope="openid", claims=request)
    access = exchange(flow).json()["access_token"]
    account.attributes_stale_since = timezone.now()
    account.attributes_stale_reason = "anchor_revoked"
    account.save()
    stale = _userinfo(rp, access)["verified_claims"]["verification"][ida.STALE_MEMBER]
    assert stale["reason"] == "anchor_revoked"


def test_it_a_resident_without_attributes_gets_only_sub(provider: None) -> None:
    from anchorid.idp.accounts.models import Account

    rp, _ = register()
    account = Account.objects.create_user("no-attributes")
    flow = run_flow(rp, logged_in(account), scope="openid profile")
    info = _userinfo(rp, exchange(flow).json()["access_token"])
    assert set(info) == {"sub"}


def test_it_gender_values() -> None:
    info = BasicFourInfo.plain("山田　太郎", datetime.date(1950, 1, 1), Gender.MALE, "神奈川県鎌倉市")
    values = claims.claim_values(info, ["gender", "age_over_65", "birthdate"], today=datetime.date(2026, 1, 1))
    assert values == {"gender": "male", "age_over_65": True, "birthdate": "1950-01-01"}


def test_it_self_service_lists_and_withdraws_consent(provider: None) -> None:
    rp, _ = register()
    account = resident()
    browser = logged_in(account)
    tokens = exchange(run_flow(rp, browser, scope="openid profile", consent={"claim": ["name"]})).json()
    page = browser.get("/me/")
    assert page.status_code == 200
    assert "鎌倉市ポータル" in page.content.decode()
    response = browser.post(f"/me/services/{rp.client_id}/withdraw/")
    assert response.status_code == 302
    assert (
        HttpClient()
        .get(
            "/oidc/userinfo",
            headers={
                "Authorization": "DPoP " + tokens["access_token"],
                "DPoP": rp.proof("GET", ISSUER + "/oidc/userinfo", access_token=tokens["access_token"]),
            },
        )
        .status_code
        == 401
    )
    assert AuditEntry.objects.filter(event_type="consent_withdrawn").get().details["claims"] == ["name"]
    services = browser.get("/me/").content.decode().split('id="services-heading"', 1)[1].split("</section>", 1)[0]
    assert "鎌倉市ポータル" not in services  # no longer connected (the activity history still names it)


def test_it_the_consent_screen_speaks_japanese_first(provider: None) -> None:
    rp, _ = register()
    pushed = push(HttpClient(), rp, Pkce(), scope="openid address",
                  claims='{"id_token": {"name": {"essential": true}}}')  # fmt: skip
    page = logged_in(resident()).get(authorize_url(rp, pushed.json()["request_uri"]))
    text = page.content.decode()
    assert "必須" in text
    assert "任意" in text
    assert "同意して続ける" in text
    assert 'name="claim" value="address"' in text
    assert 'value="name"' not in text  # an essential claim has no box to untick


def test_it_computes_age_over_15_from_the_birth_date_on_the_day() -> None:
    born = datetime.date(2011, 4, 2)
    info = BasicFourInfo.plain("山田　花子", born, Gender.FEMALE, "神奈川県鎌倉市")
    on_the_eve = claims.claim_values(info, ["age_over_15", "age_over_18"], today=datetime.date(2026, 4, 1))
    on_the_birthday = claims.claim_values(info, ["age_over_15", "age_over_18"], today=datetime.date(2026, 4, 2))
    assert on_the_eve == {"age_over_15": False, "age_over_18": False}
    assert on_the_birthday == {"age_over_15": True, "age_over_18": False}
    assert "age_over_15" in claims.KNOWN_CLAIMS
    assert "age_over_15" not in claims.SCOPE_CLAIMS["anchorid:age"]  # asked for by name only (the claims parameter)
