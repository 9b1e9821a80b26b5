"""Two idp and two city instances behind HAProxy on one PostgreSQL and Redis (``scripts/deploy-local``): what one
instance did, the other knows. Requests are pinned to instances with the deployment's test-only header, and every
answer names the instance that gave it."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from joserfc import jwt

from anchorid.city.rp.setup import load_config
from anchorid.common.rp.client import LoginError
from anchorid.common.rp.dpop import DPoPKey
from anchorid.deploy.haproxy import PIN_HEADER
from support.fixed_windows import start_clear_of_a_window_edge

from .deployment import RATE_LIMITS, Deployment, PinnedBrowser
from .flows import PinnedClient, finish_city_login, open_onboarding, post_onboarding, start_city_login

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def test_it_finishes_on_instance_2_a_login_started_on_instance_1(
    deployment: Deployment, new_card: Callable[[], dict[str, Any]]
) -> None:
    browser = PinnedBrowser(deployment)
    browser.pin("idp-1", "city-1")
    complete_url, answer = open_onboarding(browser, deployment.idp, new_card())
    started = start_city_login(browser, deployment.city)
    browser.http.get(started, timeout=30)  # the idp's login/consent page, on instance 1
    assert set(browser.served_by) == {"idp-1", "city-1"}

    # The card's answer to instance 1's challenge is taken by instance 2 (the challenge lives in the database).
    browser.pin("idp-2", "city-2")
    created = post_onboarding(browser, deployment.idp, complete_url, answer)
    assert created.status_code in (200, 201), created.text[:500]
    # Consent on idp-2, and city-2 redeems the code of the login city-1 started (its state is in the session row).
    home = finish_city_login(browser, deployment.city, started)
    assert "logged-in" in home
    assert set(browser.served_by) == {"idp-2", "city-2"}


def test_it_refuses_an_onboarding_answer_a_second_time_on_the_other_instance(
    deployment: Deployment, new_card: Callable[[], dict[str, Any]]
) -> None:
    browser = PinnedBrowser(deployment)
    browser.pin("idp-1")
    complete_url, answer = open_onboarding(browser, deployment.idp, new_card())
    assert post_onboarding(browser, deployment.idp, complete_url, answer).status_code in (200, 201)
    browser.pin("idp-2")
    replayed = post_onboarding(browser, deployment.idp, complete_url, answer)
    assert 400 <= replayed.status_code < 500, replayed.text[:500]
    assert browser.served_by == ["idp-2"]


def test_it_refuses_an_authorization_code_redeemed_on_the_other_instance(
    deployment: Deployment, new_card: Callable[[], dict[str, Any]]
) -> None:
    browser = PinnedBrowser(deployment)
    browser.pin("idp-1")
    browser.onboard(new_card())
    config = load_config(_city_data(deployment))
    first = PinnedClient(config, "idp-1")
    url, pending = first.start_login()
    callback = browser.authorize(url, config.redirect_uri)
    login = first.finish_login(callback, pending)
    assert login.id_token_claims["sub"]
    with pytest.raises(LoginError) as refused:
        PinnedClient(config, "idp-2").finish_login(callback, pending)
    assert refused.value.code == "invalid_grant"


def test_it_refuses_a_dpop_proof_or_client_assertion_used_on_the_other_instance(deployment: Deployment) -> None:
    config = load_config(_city_data(deployment))
    client = PinnedClient(config, "idp-1")
    endpoint = client.metadata["pushed_authorization_request_endpoint"]
    dpop = DPoPKey(config.dpop_key)

    def proof() -> str:
        return dpop.proof("POST", endpoint)

    def assertion() -> str:
        now = int(time.time())
        claims = {"iss": config.client_id, "sub": config.client_id, "aud": config.issuer, "iat": now,
                  "exp": now + 60, "jti": secrets.token_urlsafe(24)}  # fmt: skip
        kid = config.client_key.kid or config.client_key.thumbprint()
        return jwt.encode({"alg": "ES256", "kid": kid}, claims, config.client_key)

    def push(instance: str, dpop_proof: str, client_assertion: str) -> requests.Response:
        form = {"response_type": "code", "client_id": config.client_id, "redirect_uri": config.redirect_uri,
                "scope": "openid", "state": secrets.token_urlsafe(16), "nonce": secrets.token_urlsafe(16),
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256",
                "client_assertion_type": ASSERTION_TYPE, "client_assertion": client_assertion}  # fmt: skip
        response = requests.post(endpoint, data=form, timeout=30, headers={"DPoP": dpop_proof, PIN_HEADER: instance})
        assert response.headers.get("X-AnchorID-Served-By") == instance
        dpop.remember_nonce(response)
        return response

    first = push("idp-1", proof(), assertion())
    if first.status_code == 400 and first.json().get("error") == "use_dpop_nonce":
        first = push("idp-1", proof(), assertion())  # the nonce of idp-1 (idp-2 must accept it as well)
    assert first.status_code == 201, first.text
    used_proof, used_assertion = first.request.headers["DPoP"], _form_value(first.request.body, "client_assertion")

    replayed_proof = push("idp-2", used_proof, assertion())
    assert replayed_proof.status_code == 400, replayed_proof.text
    assert replayed_proof.json()["error"] == "invalid_dpop_proof"
    replayed_assertion = push("idp-2", proof(), used_assertion)
    assert replayed_assertion.status_code == 401, replayed_assertion.text
    assert replayed_assertion.json()["error"] == "invalid_client"
    # Fresh ones are welcome on idp-2: the refusals were for the replays, not for the instance (nor its nonce).
    assert push("idp-2", proof(), assertion()).status_code == 201


def test_it_counts_a_rate_limit_across_both_instances(deployment: Deployment) -> None:
    """``signing-verify-ip`` is 6 per 10 minutes in this deployment: 3 attempts on each instance use it up."""
    url = f"{deployment.idp}/signing/api/verify"
    session = requests.Session()
    session.verify = deployment.ca

    def attempt(instance: str, spoofed: str = "") -> requests.Response:
        headers = {PIN_HEADER: instance, "Content-Type": "text/plain"}
        if spoofed:  # the proxy replaces a client's X-Forwarded-For: no escaping the limit this way
            headers["X-Forwarded-For"] = spoofed
        response = session.post(url, data=b"not a pdf", headers=headers, timeout=30)
        assert response.headers["X-AnchorID-Served-By"] == instance
        return response

    start_clear_of_a_window_edge(RATE_LIMITS["signing-verify-ip"][1])
    answers = [attempt(instance).status_code for instance in ("idp-1", "idp-2") * 3]
    assert answers == [415] * 6
    assert attempt("idp-1").status_code == 429
    assert attempt("idp-2", spoofed="203.0.113.9").status_code == 429


def _city_data(deployment: Deployment) -> Path:
    return Path(deployment.state["processes"]["city-1"]["data"])


def _form_value(body: Any, name: str) -> str:
    from urllib.parse import parse_qs

    text = body.decode() if isinstance(body, bytes) else str(body)
    return parse_qs(text)[name][0]
