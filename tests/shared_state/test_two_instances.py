"""What must hold across instances holds across two ``anchorid serve idp`` processes sharing one database, with the
short-lived state in Redis (``REDIS_URL``) or in the database (no Redis): a one-time jti used on one is refused on
the other, a rate limit counts on both, a key rotation or a disabled client is seen by both within seconds, and a
session started on one continues on the other (docs/shared-state.md)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
import redis
import requests
from joserfc import jws
from joserfc.jwk import KeySet

from .instances import REDIS_URL, STAFF_PASSWORD, Deployment, Instance, Service, deployment

#: Well under the caches' own expiry (SIGNING_KEYS_CACHE_SECONDS 30 s, CLIENT_CACHE_SECONDS 300 s): a change seen
#: within this time was announced (the generation stamps), not waited out.
SEEN_WITHIN = 8.0


@pytest.fixture(scope="module")
def deployments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Deployment]]:
    """``deployments(store)``: the two instances with that store, started on first use, stopped after the module."""
    with ExitStack() as stack:
        started: dict[str, Deployment] = {}

        def get(store: str) -> Deployment:
            if store not in started:
                started[store] = stack.enter_context(deployment(tmp_path_factory.mktemp(f"shared-{store}"), store))
            return started[store]

        yield get


@pytest.fixture(params=["redis", "database"])
def two(request: pytest.FixtureRequest, deployments: Callable[[str], Deployment]) -> Deployment:
    """Each store: what differs between them (the jtis, the rate-limit counters) is tested on both."""
    return deployments(request.param)


@pytest.fixture
def production(deployments: Callable[[str], Deployment]) -> Deployment:
    """The production shape (Redis): for what lives in the database whatever the store (sessions, stamps)."""
    return deployments("redis")


@pytest.fixture
def service(two: Deployment) -> Service:
    return two.service


def _a(two: Deployment) -> Instance:
    assert two.a is not None
    return two.a


def _b(two: Deployment) -> Instance:
    assert two.b is not None
    return two.b


def _nonce(service: Service, instance: Instance) -> str:
    """The server's DPoP nonce, as a client learns it: a proof without one is refused with ``use_dpop_nonce``."""
    response = service.token(instance, proof=service.proof("POST", "/oidc/token", None))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "use_dpop_nonce"
    nonce: str = response.headers["DPoP-Nonce"]
    return nonce


def _eventually(check: Callable[[], bool], what: str) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < SEEN_WITHIN, f"{what} not seen within {SEEN_WITHIN} s"
        time.sleep(0.1)
    return time.monotonic() - started


def test_it_refuses_on_one_instance_a_client_assertion_or_dpop_proof_used_on_the_other(
    two: Deployment, service: Service
) -> None:
    a, b = _a(two), _b(two)
    nonce = _nonce(service, a)  # issued by a, accepted by b: nonces are stateless under the shared secret
    assertion, proof = service.assertion(), service.proof("POST", "/oidc/token", nonce)
    first = service.token(a, assertion=assertion, proof=proof)
    assert first.status_code == 200, first.text
    assert first.json()["token_type"] == "DPoP"

    replayed_assertion = service.token(b, assertion=assertion, proof=service.proof("POST", "/oidc/token", nonce))
    assert replayed_assertion.status_code == 401, replayed_assertion.text
    assert replayed_assertion.json()["error"] == "invalid_client"
    assert "replay" in replayed_assertion.json()["error_description"]

    replayed_proof = service.token(b, proof=proof)
    assert replayed_proof.status_code == 400, replayed_proof.text
    assert replayed_proof.json()["error"] == "invalid_dpop_proof"
    assert "replay" in replayed_proof.json()["error_description"]

    fresh = service.token(b, proof=service.proof("POST", "/oidc/token", nonce))
    assert fresh.status_code == 200, fresh.text
    if two.store == "redis":  # the jtis are there, with their lifetime as TTL, not in the database
        keys = _redis_keys("anchorid:idp:*anchorid:jti:*")
        assert keys
        assert all(0 < _redis().ttl(key) <= 400 for key in keys)


def _admin_login(instance: Instance, username: str, password: str, http: requests.Session | None = None) -> int:
    http = http or requests.Session()
    page = http.get(instance.url + "/admin/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None, page.text[:500]
    response = http.post(
        instance.url + "/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": token.group(1), "username": username, "password": password},
        headers={"Accept-Language": "en"},
        allow_redirects=False,
        timeout=10,
    )
    return response.status_code


def test_it_counts_a_rate_limit_across_both_instances(two: Deployment) -> None:
    """The admin's password lockout (5 failures per name; a day-long window here, see ``instances``): 3 on one
    instance and 2 on the other lock the name on both, the right password included."""
    a, b = _a(two), _b(two)
    for instance in (a, b, a, b, a):
        assert _admin_login(instance, "staff-locked", "wrong password") == 200
    assert _admin_login(b, "staff-locked", STAFF_PASSWORD) == 429
    assert _admin_login(a, "staff-locked", STAFF_PASSWORD) == 429
    if two.store == "redis":
        assert _redis_keys("anchorid:idp:*anchorid:ratelimit:password-login-username:*")


def _redis() -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL)


def _redis_keys(pattern: str) -> list[bytes]:
    return list(_redis().scan_iter(match=pattern))


def test_it_continues_on_one_instance_a_session_started_on_the_other(production: Deployment) -> None:
    a, b = _a(production), _b(production)
    browser = requests.Session()
    assert _admin_login(a, "staff-session", STAFF_PASSWORD, browser) == 302
    on_b = browser.get(b.url + "/admin/", allow_redirects=False, timeout=10)
    assert on_b.status_code == 200
    assert "staff-session" in on_b.text
    logout = browser.post(
        b.url + "/admin/logout/",
        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        allow_redirects=False,
        timeout=10,
    )
    assert logout.status_code == 200
    assert browser.get(a.url + "/admin/", allow_redirects=False, timeout=10).status_code == 302  # ended on a too


def _kids(instance: Instance) -> set[str]:
    return {key["kid"] for key in requests.get(instance.url + "/oidc/jwks", timeout=10).json()["keys"]}


def _access_token(service: Service, instance: Instance) -> str:
    nonce = _nonce(service, instance)
    response = service.token(instance, proof=service.proof("POST", "/oidc/token", nonce))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _kid(token: str) -> str:
    kid: str = jws.extract_compact(token.encode()).protected["kid"]
    return kid


def _streams(service: Service, instance: Instance, token: str) -> requests.Response:
    """A call that verifies the access token on ``instance`` (the SSF stream API)."""
    nonce = _nonce(service, instance)
    return requests.get(
        instance.url + "/ssf/streams",
        headers={"Authorization": f"DPoP {token}", "DPoP": service.proof("GET", "/ssf/streams", nonce, token)},
        timeout=10,
    )


def test_it_serves_and_signs_with_a_key_rotation_made_elsewhere_within_seconds(production: Deployment) -> None:
    two, service = production, production.service
    a, b = _a(two), _b(two)
    before = _kids(a)
    assert _kids(b) == before
    old_kid = _kid(_access_token(service, b))  # both instances have the key table cached now
    assert _kid(_access_token(service, a)) == old_kid

    two.cli("idp", "rotate-keys", "--data", str(two.data[0]))  # an operator, on a third process

    _eventually(lambda: _kids(b) - before != set() and _kids(a) - before != set(), "the new next key")
    new_kid = _kid(_access_token(service, b))
    assert new_kid != old_kid
    assert new_kid in before  # the former next key signs now: published before it signed
    token_from_a = _access_token(service, a)
    assert _kid(token_from_a) == new_kid
    jwks_b = requests.get(b.url + "/oidc/jwks", timeout=10).json()
    jws.deserialize_compact(token_from_a, KeySet.import_key_set(jwks_b), algorithms=["ES256"])  # b publishes it
    assert _streams(service, b, token_from_a).status_code == 200  # and b accepts the token a signed with it


def test_it_refuses_a_client_disabled_elsewhere_within_seconds(production: Deployment) -> None:
    two, service = production, production.service
    a, b = _a(two), _b(two)
    for instance in (a, b):  # both have the client cached
        assert service.token(instance, proof=service.proof("POST", "/oidc/token", _nonce(service, instance))).ok
        assert service.token(instance).status_code != 401
    two.cli("idp", "client", "disable", "--data", str(two.data[0]), "--client-id", "svc")

    def refused(instance: Instance) -> bool:
        return service.token(instance).status_code == 401  # invalid_client: no such active client

    _eventually(lambda: refused(a) and refused(b), "the disabled client")
