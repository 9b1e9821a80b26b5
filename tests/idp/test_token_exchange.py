"""Token exchange (RFC 8693) under the resident's link consent: the happy path and every refusal."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from joserfc.jwk import ECKey

from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.links import consents, usage
from anchorid.idp.links.models import LinkExchange
from anchorid.idp.oidc.models import Grant
from anchorid.idp.oidc.pairwise import pairwise_subject

from .links_support import CREDIT_DETAILS, access_token, another_resident, exchange_request, introspect, link, services
from .oidc_support import decode, provider, resident

__all__ = ["provider"]


def _refused(response: Any, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"] == error, response.content
    assert "access_token" not in response.json()


def _nothing_issued_and_logged(error: str) -> None:
    assert not LinkExchange.objects.exists()
    refusals = AuditEntry.objects.filter(event_type="link_refused")
    assert [entry.details["error"] for entry in refusals][-1:] == [error]
    assert not AuditEntry.objects.filter(event_type="link_used").exists()


def test_it_exchanges_a_residents_token_for_one_toward_the_linked_service(provider: None) -> None:
    s = services()
    hanako = resident()
    link(hanako, s.health_to_currency)
    token = access_token(s.health, hanako)
    response = exchange_request(s.health, token, scope="currency:credit")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert body["token_type"] == "DPoP"
    assert 0 < body["expires_in"] <= 300
    assert body["scope"] == "currency:credit"
    assert body["authorization_details"] == CREDIT_DETAILS
    assert "refresh_token" not in body
    claims = decode(body["access_token"])
    assert claims["aud"] == "currency"
    assert claims["client_id"] == "providersim-health"
    assert claims["act"] == {"sub": "providersim-health"}
    assert claims["cnf"] == {"jkt": s.health.dpop_key.thumbprint()}
    assert claims["exp"] - claims["iat"] <= 300
    assert "sub" not in claims  # the source holds it and must not learn the currency's sub
    assert response["Cache-Control"] == "no-store"
    # the currency learns its own pairwise sub, and only it
    answer = introspect(s.currency, body["access_token"])
    assert answer["active"] is True
    assert answer["sub"] == pairwise_subject("currency.example", hanako.pk)
    assert answer["act"] == {"sub": "providersim-health"}
    assert answer["authorization_details"] == CREDIT_DETAILS
    assert introspect(s.health, body["access_token"]) == {"active": False}
    assert introspect(s.city, body["access_token"]) == {"active": False}
    assert not AuditEntry.objects.filter(event_type="link_used").exists()  # appended by the worker's job
    assert usage.audit_uses() == 1
    used = AuditEntry.objects.get(event_type="link_used")
    assert used.details == {"link_id": LinkExchange.objects.get().consent_id, "client_id": "providersim-health",
                            "target_id": "currency", "scopes": ["currency:credit"], "further": False}  # fmt: skip
    assert used.subject == str(hanako.pk)
    assert usage.audit_uses() == 0
    assert LinkExchange.objects.get().audited
    from anchorid.idp.jobs import jobs

    assert "link-use-audit" in {job.name for job in jobs()}  # the idp's worker runs it


def test_it_gives_three_different_subs_to_the_source_the_target_and_the_city(provider: None) -> None:
    s = services()
    hanako = resident()
    link(hanako, s.health_to_currency)
    health_sub = decode(access_token(s.health, hanako))["sub"]
    city_sub = decode(access_token(s.city, hanako))["sub"]
    exchanged = exchange_request(s.health, access_token(s.health, hanako)).json()["access_token"]
    currency_sub = introspect(s.currency, exchanged)["sub"]
    assert len({health_sub, city_sub, currency_sub}) == 3
    assert currency_sub not in str(decode(exchanged))


def test_it_narrows_the_scope_and_the_authorization_details_on_request(provider: None) -> None:
    s = services()
    hanako = resident()
    link(hanako, s.health_to_currency)
    details = [{"type": "anchorid_currency_credit", "max_yen_per_month": 300}]
    response = exchange_request(s.health, access_token(s.health, hanako), authorization_details=details)
    assert response.status_code == 200, response.content
    assert decode(response.json()["access_token"])["authorization_details"] == details


def test_it_refuses_authorization_details_beyond_the_consent(provider: None) -> None:
    s = services()
    hanako = resident()
    link(hanako, s.health_to_currency)
    token = access_token(s.health, hanako)
    more = [{"type": "anchorid_currency_credit", "max_yen_per_month": 5000}]
    _refused(exchange_request(s.health, token, authorization_details=more), "invalid_authorization_details")
    other = [{"type": "anchorid_currency_debit", "max_yen_per_month": 1}]
    _refused(exchange_request(s.health, token, authorization_details=other), "invalid_authorization_details")
    _refused(exchange_request(s.health, token, authorization_details="[1"), "invalid_authorization_details")
    _nothing_issued_and_logged("invalid_authorization_details")


def test_it_refuses_scope_escalation(provider: None) -> None:
    s = services()
    hanako = resident()
    link(hanako, s.health_to_currency)
    response = exchange_request(s.health, access_token(s.health, hanako), scope="currency:credit currency:balance")
    _refused(response, "invalid_scope")
    _nothing_issued_and_logged("invalid_scope")
    entry = AuditEntry.objects.get(event_type="link_refused")
    assert entry.details["scopes"] == ["currency:credit", "currency:balance"]
    assert entry.subject == str(hanako.pk)


def test_it_refuses_without_a_dpop_proof(provider: None) -> None:
    s = services()
    hanako = resident()
    link(hanako, s.health_to_currency)
    _refused(exchange_request(s.health, access_token(s.health, hanako), dpop=False), "invalid_dpop_proof")
    _nothing_issued_and_logged("invalid_dpop_proof")


def test_it_refuses_a_proof_by_another_key_than_the_subject_tokens(provider: None) -> None:
    s = services()
    hanako = resident()
    link(hanako, s.health_to_currency)
    response = exchange_request(s.health, access_token(s.health, hanako), proof_key=ECKey.generate_key("P-256"))
    _refused(response, "invalid_grant")
    _nothing_issued_and_logged("invalid_grant")


def test_it_refuses_an_unknown_or_unlinked_audience(provider: None) -> None:
    s = services()
    hanako = resident()
    link(hanako, s.health_to_currency)
    token = access_token(s.health, hanako)
    _refused(exchange_request(s.health, token, audience="no-such-service"), "invalid_target")
    _refused(exchange_request(s.health, token, audience="library"), "invalid_target")
    _refused(exchange_request(s.health, token, audience=None, resource="https://library.example"), "invalid_target")
    _nothing_issued_and_logged("invalid_target")


def test_it_accepts_the_targets_origin_as_resource(provider: None) -> None:
    s = services()
    hanako = resident()
    link(hanako, s.health_to_currency)
    response = exchange_request(s.health, access_token(s.health, hanako), audience=None,
                                resource="https://currency.example")  # fmt: skip
    assert response.status_code == 200, response.content
    assert decode(response.json()["access_token"])["aud"] == "currency"


def test_it_refuses_a_client_that_is_the_source_of_no_link(provider: None) -> None:
    s = services()
    hanako = resident()
    link(hanako, s.health_to_currency)
    response = exchange_request(s.library, access_token(s.library, hanako), audience="currency")
    _refused(response, "unauthorized_client")
    _nothing_issued_and_logged("unauthorized_client")


def test_it_refuses_malformed_requests(provider: None) -> None:
    s = services()
    hanako = resident()
    link(hanako, s.health_to_currency)
    token = access_token(s.health, hanako)
    _refused(exchange_request(s.health, None), "invalid_request")
    _refused(exchange_request(s.health, token, subject_token_type="urn:ietf:params:oauth:token-type:jwt"),
             "invalid_request")  # fmt: skip
    _refused(exchange_request(s.health, token, audience=None), "invalid_request")
    _refused(exchange_request(s.health, token, requested_token_type="urn:ietf:params:oauth:token-type:id_token"),
             "invalid_request")  # fmt: skip
    _nothing_issued_and_logged("invalid_request")


def test_it_refuses_without_the_residents_consent(provider: None) -> None:
    s = services()
    hanako, taro = resident(), another_resident()
    link(taro, s.health_to_currency)  # another resident's consent does not count
    _refused(exchange_request(s.health, access_token(s.health, hanako)), "invalid_grant")
    _nothing_issued_and_logged("invalid_grant")


def test_it_refuses_a_subject_token_issued_to_another_client(provider: None) -> None:
    s = services()
    hanako = resident()
    link(hanako, s.health_to_currency)
    link(hanako, s.city_to_currency)
    city_token = access_token(s.city, hanako)
    _refused(exchange_request(s.health, city_token), "invalid_grant")


def test_it_refuses_a_subject_token_reused_after_revocation(provider: None) -> None:
    s = services()
    hanako = resident()
    link(hanako, s.health_to_currency)
    token = access_token(s.health, hanako)
    assert exchange_request(s.health, token).status_code == 200
    Grant.objects.update(revoked_at=timezone.now(), revoked_reason="test")
    _refused(exchange_request(s.health, token), "invalid_grant")
    assert LinkExchange.objects.count() == 1


def test_it_refuses_a_forged_or_expired_subject_token(provider: None) -> None:
    s = services()
    hanako = resident()
    link(hanako, s.health_to_currency)
    token = access_token(s.health, hanako)
    header, payload, signature = token.split(".")
    _refused(exchange_request(s.health, f"{header}.{payload}.{signature[::-1]}"), "invalid_grant")
    _refused(exchange_request(s.health, "not-a-token"), "invalid_grant")


def test_it_stops_the_next_exchange_and_every_issued_token_when_the_link_is_withdrawn(provider: None) -> None:
    s = services()
    hanako = resident()
    consent = link(hanako, s.health_to_currency)
    token = access_token(s.health, hanako)
    exchanged = exchange_request(s.health, token).json()["access_token"]
    assert introspect(s.currency, exchanged)["active"] is True
    consents.withdraw(hanako, consent.id)
    assert introspect(s.currency, exchanged) == {"active": False}
    _refused(exchange_request(s.health, token), "invalid_grant")
    assert AuditEntry.objects.filter(event_type="link_withdrawn").count() == 1


def test_it_refuses_an_exchanged_token_as_subject_unless_the_link_allows_further_exchange(provider: None) -> None:
    s = services()
    hanako = resident()
    link(hanako, s.city_to_currency)
    exchanged = exchange_request(s.city, access_token(s.city, hanako), scope="currency:balance").json()
    # neither the holder nor the audience may exchange it again
    _refused(exchange_request(s.city, exchanged["access_token"], audience="currency"), "invalid_grant")
    _refused(exchange_request(s.currency, exchanged["access_token"], audience="library"), "invalid_grant")
    assert LinkExchange.objects.count() == 1


def test_it_lets_the_audience_exchange_further_when_the_link_allows_it(provider: None) -> None:
    from anchorid.idp.links import offers

    s = services(further=True)
    offers.set_scope("library", "library:loans", "図書館の貸出と予約を見る", "See your library loans and holds")
    onward = offers.add_offer(offer_id="currency-to-library", source="currency", target="library",
                              scopes=["library:loans"], purpose_ja="目的", purpose_en="purpose", days=30)  # fmt: skip
    hanako = resident()
    first_consent = link(hanako, s.city_to_currency)
    exchanged = exchange_request(s.city, access_token(s.city, hanako), scope="currency:balance").json()["access_token"]
    _refused(exchange_request(s.currency, exchanged, audience="library"), "invalid_grant")  # no consent for B → C
    link(hanako, onward)
    response = exchange_request(s.currency, exchanged, audience="library")
    assert response.status_code == 200, response.content
    second = response.json()["access_token"]
    assert decode(second)["act"] == {"sub": "currency", "act": {"sub": "city"}}
    assert introspect(s.library, second)["sub"] == pairwise_subject("library.example", hanako.pk)
    consents.withdraw(hanako, first_consent.id)  # the first link's withdrawal ends the chain
    assert introspect(s.library, second) == {"active": False}


def test_it_answers_garbage_in_every_parameter_with_a_4xx_and_issues_nothing(provider: None) -> None:
    s = services()
    hanako = resident()
    link(hanako, s.health_to_currency)
    token = access_token(s.health, hanako)
    garbage = ("\x00", "x" * 5000, "{}", '[{"type": 1}]', "[" * 3000, "https://", "ｃｕｒｒｅｎｃｙ")
    names = ("subject_token", "subject_token_type", "audience", "resource", "scope", "authorization_details",
             "requested_token_type")  # fmt: skip
    for name in names:
        for value in garbage:
            params = {"subject_token": token, name: value}
            response = exchange_request(s.health, params.pop("subject_token"), **params)
            assert 400 <= response.status_code < 500, (name, value[:10], response.status_code, response.content)
    assert not LinkExchange.objects.exists()
