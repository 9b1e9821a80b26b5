"""Shared by the OpenID Provider tests: a configured provider, registered clients holding their own keys, a
logged-in resident, and a relying party's side of the flow (PAR, authorize, token) written against the specs.
Every request goes through production's WSGI entry point (``production_wsgi``): the JSON endpoints through the thin
dispatch that serves them in production."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.cache import cache
from joserfc import jws
from joserfc.jwk import ECKey
from pytest_django.fixtures import Settings

from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import Authentication, Level, Method
from anchorid.idp.oidc import clients, jwks, secrets_
from anchorid.idp.oidc.models import Client
from anchorid.jpki.attributes import BasicFourInfo, Gender

from .conftest import FAST_SCRYPT_N, PASSPHRASE
from .idp_helpers import login_client
from .production_wsgi import ProductionClient as HttpClient

ISSUER = "http://testserver"
PASSKEY_LOGIN = Authentication(Level.DERIVED, (Method.PASSKEY, Method.USER_VERIFICATION))
INFO = BasicFourInfo.plain("鎌倉　花子", datetime.date(1990, 4, 1), Gender.FEMALE, "神奈川県鎌倉市御成町１８番１０号")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def provider(settings: Settings, tmp_path: Path, db: None) -> Iterator[None]:
    """The provider at http://testserver with its own key folder and secret; caches emptied before and after."""
    settings.ANCHORID_IDP_ORIGIN = ISSUER
    settings.ANCHORID_KEYSTORE_DIR = tmp_path / "keys"
    settings.ANCHORID_KEYSTORE_PASSPHRASE = PASSPHRASE
    settings.ANCHORID_OIDC_SECRET = "oidc test secret " + tmp_path.name
    settings.DATA_DIR = tmp_path
    from anchorid.idp import keystore

    keystore._shared_stores.clear()
    original = keystore.SCRYPT_N
    keystore.SCRYPT_N = FAST_SCRYPT_N
    _forget()
    cache.clear()
    yield
    keystore.SCRYPT_N = original
    _forget()


def _forget() -> None:
    secrets_.forget()
    jwks.invalidate_cache()
    jwks._cache.update(jwks=None, signing={})
    jwks._cache.pop("verify_keys", None)
    clients.forget()


@dataclass
class RelyingParty:
    """A client's side: its key, and helpers that build requests the way the specs say."""

    client_id: str
    redirect_uri: str
    key: ECKey = field(default_factory=lambda: ECKey.generate_key("P-256"))
    dpop_key: ECKey = field(default_factory=lambda: ECKey.generate_key("P-256"))
    nonce: str | None = None
    auth_method: str = "private_key_jwt"
    secret: str | None = None

    def client_auth(self) -> tuple[dict[str, str], dict[str, str]]:
        """(form fields, headers) that authenticate this client the way it registered."""
        if self.auth_method == "none":
            return {"client_id": self.client_id}, {}
        if self.auth_method == "client_secret_basic":
            basic = base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()
            return {}, {"Authorization": "Basic " + basic}
        return self.auth(), {}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self.key.as_dict(private=False), "kid": "rp-1", "use": "sig", "alg": "ES256"}]}

    def assertion(self, **overrides: Any) -> str:
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": ISSUER, "iat": now, "exp": now + 60}
        claims["jti"] = secrets.token_urlsafe(12)
        claims.update(overrides)
        header = {"alg": "ES256", "kid": "rp-1", "typ": "JWT"}
        return jws.serialize_compact(header, json.dumps(claims).encode(), self.key, algorithms=["ES256"])

    def auth(self, **overrides: Any) -> dict[str, str]:
        return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": self.assertion(**overrides)}

    def proof(self, method: str, url: str, *, key: ECKey | None = None, access_token: str | None = None,
              **overrides: Any) -> str:  # fmt: skip
        key = key or self.dpop_key
        claims: dict[str, Any] = {"jti": secrets.token_urlsafe(12), "htm": method, "htu": url, "iat": int(time.time())}
        if self.nonce:
            claims["nonce"] = self.nonce
        if access_token:
            claims["ath"] = b64url(hashlib.sha256(access_token.encode()).digest())
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
        return jws.serialize_compact(header, json.dumps(claims).encode(), key, algorithms=["ES256"])


@dataclass
class Pkce:
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        return b64url(hashlib.sha256(self.verifier.encode()).digest())


def register(client_id: str = "city-portal", *, redirect_uri: str = "https://city.example/callback",
             **options: Any) -> tuple[RelyingParty, Client]:  # fmt: skip
    rp = RelyingParty(client_id, redirect_uri)
    options.setdefault("scopes", ["openid", "profile", "address", "anchorid:age", "anchorid:residence",
                                  "anchorid:verified"])  # fmt: skip
    options.setdefault("post_logout_redirect_uris", [redirect_uri.rsplit("/", 1)[0] + "/logged-out"])
    if options.get("auth_method", "private_key_jwt") == "private_key_jwt":
        options.setdefault("jwks", rp.jwks())
    client, secret = clients.register(client_id=client_id, name="鎌倉市ポータル", redirect_uris=[redirect_uri],
                                      fetch_sector=False, **options)  # fmt: skip
    rp.secret = secret
    rp.auth_method = options.get("auth_method", "private_key_jwt")
    return rp, client


def resident(handle: str = "resident-1", info: BasicFourInfo = INFO) -> Account:
    account = Account.objects.create_user(handle)
    account.set_attributes(info, verified_how="jpki-signature-certificate")
    account.save()
    return account


def logged_in(account: Account, authentication: Authentication = PASSKEY_LOGIN) -> HttpClient:
    browser = HttpClient()
    login_client(browser, account, authentication)
    return browser


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


FORM = "application/x-www-form-urlencoded"


def post_form(http: HttpClient, path: str, data: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    """POST ``data`` as application/x-www-form-urlencoded (what OAuth endpoints take, RFC 6749 §3.2)."""
    return http.post(path, urlencode(data, doseq=True), content_type=FORM, headers=headers or {})


def get_nonce(http: HttpClient, rp: RelyingParty) -> None:
    """Ask the token endpoint once without a nonce: use_dpop_nonce with a DPoP-Nonce header (RFC 9449 §8)."""
    form, headers = rp.client_auth()
    headers["DPoP"] = rp.proof("POST", ISSUER + "/oidc/par")
    response = post_form(http, "/oidc/par", {"client_id": rp.client_id, **form}, headers=headers)
    rp.nonce = response.headers.get("DPoP-Nonce")
    assert rp.nonce, response.content


def push(http: HttpClient, rp: RelyingParty, pkce: Pkce, **params: Any) -> Any:
    body = {
        "client_id": rp.client_id,
        "response_type": "code",
        "redirect_uri": rp.redirect_uri,
        "scope": "openid profile",
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "state": "st-" + secrets.token_hex(4),
        "nonce": "n-" + secrets.token_hex(4),
    }
    form, headers = rp.client_auth()
    body.update(form)
    body.update(params)
    body = {k: v for k, v in body.items() if v is not None}
    return post_form(http, "/oidc/par", body, headers)


def authorize_url(rp: RelyingParty, request_uri: str) -> str:
    return "/oidc/authorize?" + urlencode({"client_id": rp.client_id, "request_uri": request_uri})


def token_request(http: HttpClient, rp: RelyingParty, form: dict[str, Any], *, dpop: bool = True,
                  proof: str | None = None, auth: dict[str, str] | None = None) -> Any:  # fmt: skip
    client_form, headers = rp.client_auth() if auth is None else (auth, {})
    if dpop:
        headers["DPoP"] = proof or rp.proof("POST", ISSUER + "/oidc/token")
    return post_form(http, "/oidc/token", {**client_form, **form}, headers)


@dataclass
class Flow:
    rp: RelyingParty
    browser: HttpClient
    pkce: Pkce
    code: str
    state: str
    location: str


def run_flow(rp: RelyingParty, browser: HttpClient, *, consent: dict[str, Any] | None = None,
             **params: Any) -> Flow:  # fmt: skip
    """PAR → authorize (→ consent, allowing, with ``consent`` as the form) → code."""
    http = HttpClient()
    if rp.nonce is None:
        get_nonce(http, rp)
    pkce = Pkce()
    pushed = push(http, rp, pkce, **params)
    assert pushed.status_code == 201, pushed.content
    response = browser.get(authorize_url(rp, pushed.json()["request_uri"]))
    if response.status_code == 200:  # the consent screen
        form = {"client_id": rp.client_id, "request_uri": pushed.json()["request_uri"], "decision": "allow"}
        if consent is None:
            form["claim"] = [c for c in response.context["rows"] if not c.essential and c.checked]
            form["claim"] = [row.claim for row in form["claim"]]
        else:
            form.update(consent)
        response = browser.post("/oidc/authorize/consent", form)
    assert response.status_code == 302, response.content
    values = query(response["Location"])
    assert "code" in values, values
    return Flow(rp, browser, pkce, values["code"], values.get("state", ""), response["Location"])


def exchange(flow: Flow, **extra: Any) -> Any:
    form = {
        "grant_type": "authorization_code",
        "code": flow.code,
        "redirect_uri": flow.rp.redirect_uri,
        "code_verifier": flow.pkce.verifier,
        **extra,
    }
    return token_request(HttpClient(), flow.rp, form)


def decode(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    parsed: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return parsed


# Statements a process sends at most once per interval, whichever request happens to be first: a generation stamp's
# read (once a second per cached table, anchorid.common.generations) and the purge of expired jtis (once per 16-s
# bucket, anchorid.idp.oidc.replay). Pinned counts are of the statements every request sends.
PERIODIC_STATEMENTS = ("anchorid_common_cachegeneration", '"oidc_seenjti"."expires_at" <')


@contextmanager
def pinned_statements(limit: int) -> Iterator[None]:
    """Fail unless the block sends at most ``limit`` statements besides the periodic ones (each at most once)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as context:
        yield
    sqls = [query["sql"] for query in context.captured_queries]
    periodic = [sql for sql in sqls if any(mark in sql for mark in PERIODIC_STATEMENTS)]
    every_request = [sql for sql in sqls if sql not in periodic]
    assert len(every_request) <= limit, "\n".join(every_request)
    assert len(periodic) <= 3, "\n".join(periodic)
