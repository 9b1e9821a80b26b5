"""Bad input never becomes a 500 at the idp (issue #11 §2): every JSON endpoint, through the production WSGI entry
(``anchorid.idp.wsgi.application``: the thin dispatch for the OAuth endpoints, Django for the rest).

- deep nesting (``[`` × 3,000) in a body, a ``claims`` parameter, a JOSE header, at each endpoint the issue named,
  is answered with the protocol's own error;
- ≥ 2,000 generated adversarial requests (tests/support/fuzz_http.py) as an anonymous caller, a logged-in resident
  (session cookie and CSRF token) and an authenticated client (bearer token): never a 5xx, never a traceback,
  no row written;
- the fuzzed list is the URLconf's list of JSON endpoints: a new route fails the test until it is fuzzed or named as
  not JSON.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from pytest_django.fixtures import Settings

from anchorid.idp.assurance import Authentication, Level, Method
from support import fuzz_http
from support.fuzz_http import JSON, Endpoint, FuzzRequest, b64url, call, check, row_counts, url_patterns

from .idp_helpers import login_client
from .oidc_support import FORM, ISSUER, provider, register, resident
from .ssf_support import bearer

__all__ = ["provider"]

EXAMPLES = 2_000
DEEP = "[" * 3_000
DEEP_B64 = b64url(DEEP.encode())
SIGNING_ID = "sig_" + "0" * 32

OAUTH = ("grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "client_id", "client_assertion",
         "client_assertion_type", "scope", "claims", "request", "token", "token_type_hint", "response_type", "state",
         "nonce", "code_challenge", "code_challenge_method", "acr_values", "access_token", "subject_token",
         "subject_token_type", "audience", "resource", "authorization_details", "requested_token_type")  # fmt: skip
CARD = ("challenge", "certificate", "signature")
WALLET = ("certificate", "client_data", "signature", "csr", "card", "device_name", "challenge")
SSF = ("stream_id", "delivery", "events_requested", "description", "status", "reason", "subject", "state",
       "maxEvents", "returnImmediately", "ack", "setErrs")  # fmt: skip
ANY = ("anonymous", "resident", "client")
# Every call of a challenge endpoint hands out a challenge (a row; for an anonymous passkey login, a session too).
CHALLENGE = ("deviceca_walletchallenge",)
PASSKEY_CHALLENGE = ("passkeys_webauthnchallenge", "django_session")

JSON_ENDPOINTS = [
    Endpoint("/oidc/token", ("POST",), OAUTH, ("anonymous", "basic")),
    Endpoint("/oidc/par", ("POST",), OAUTH, ("anonymous", "basic")),
    Endpoint("/oidc/userinfo", ("GET", "POST"), OAUTH, ANY),
    Endpoint("/oidc/introspect", ("POST",), OAUTH, ("anonymous", "basic")),
    Endpoint("/oidc/revoke", ("POST",), OAUTH, ("anonymous", "basic")),
    Endpoint("/oidc/jwks", ("GET", "POST", "HEAD")),
    Endpoint("/.well-known/openid-configuration", ("GET", "POST")),
    Endpoint("/.well-known/oauth-authorization-server", ("GET",)),
    Endpoint(
        "/oidc/logout",
        ("GET", "POST"),
        ("id_token_hint", "client_id", "post_logout_redirect_uri", "state", "logout_hint"),
        ("anonymous", "resident"),
    ),
    Endpoint("/oidc/logout/confirm", ("POST",), ("params", "decision"), ("anonymous", "resident")),
    Endpoint("/wallet/challenge", ("POST",), WALLET, may_write=CHALLENGE),
    Endpoint("/wallet/enroll", ("POST",), WALLET, ("anonymous", "resident")),
    Endpoint("/login/wallet/challenge", ("POST",), WALLET, may_write=CHALLENGE),
    Endpoint("/login/wallet", ("POST",), WALLET),
    Endpoint("/signing/trust", ("GET",)),
    Endpoint("/signing/validation-data", ("POST",), ("certificates", "certificate", "document")),
    Endpoint("/signing/wallet-certificate", ("POST",), WALLET),
    Endpoint("/signing/api/verify", ("POST",), ("document",)),
    Endpoint("/me/sign/prepare/", ("POST",), ("document",), ("resident",)),
    Endpoint(
        f"/me/sign/{SIGNING_ID}/finish/",
        ("GET", "POST"),
        ("certificate", "signature", "signed_attributes"),
        ("resident",),
    ),
    Endpoint("/signing/approve/<code>", ("GET", "POST"), ("certificate", "signature", "signed_attributes")),
    Endpoint("/me/refresh-consent/complete/", ("POST",), ("document", "certificate", "signature"), ("resident",)),
    Endpoint("/onboarding/complete/", ("POST",), CARD, ("anonymous", "resident")),
    Endpoint("/onboarding/status/", ("GET",), (), ("anonymous", "resident"), ("django_session",)),  # its binding
    Endpoint("/onboarding/device/<code>/", ("GET", "POST"), CARD),
    Endpoint("/login/card/complete/", ("POST",), CARD, ("anonymous", "resident")),
    Endpoint("/stop/card/complete/", ("POST",), CARD, ("anonymous", "resident")),
    Endpoint("/resume/card/complete/", ("POST",), CARD, ("anonymous", "resident")),
    Endpoint("/passkeys/register/options/", ("POST",), (), ("resident",), PASSKEY_CHALLENGE),
    Endpoint("/passkeys/register/finish/", ("POST",), ("credential", "name"), ("resident",)),
    Endpoint("/login/passkey/options/", ("POST",), (), may_write=PASSKEY_CHALLENGE),
    Endpoint("/login/passkey/finish/", ("POST",), ("credential",)),
    Endpoint("/.well-known/ssf-configuration", ("GET",)),
    Endpoint("/ssf/streams", ("GET", "POST", "PATCH", "PUT", "DELETE"), SSF, ("anonymous", "client")),
    Endpoint("/ssf/status", ("GET", "POST"), SSF, ("anonymous", "client")),
    Endpoint("/ssf/subjects:add", ("POST",), SSF, ("anonymous", "client")),
    Endpoint("/ssf/subjects:remove", ("POST",), SSF, ("anonymous", "client")),
    Endpoint("/ssf/verify", ("POST",), SSF, ("anonymous", "client")),
    Endpoint("/ssf/poll", ("POST",), SSF, ("anonymous", "client")),
    Endpoint("/adoption/v1/counts", ("GET", "POST"), (), ("anonymous", "client")),
    Endpoint("/me/children/add/card/", ("POST",), CARD, ("anonymous", "resident")),
    Endpoint("/me/children/add/guardian/complete/", ("POST",), ("document", "certificate", "signature"), ("resident",)),
    Endpoint("/children/setup/<token>/complete/", ("POST",), CARD),
]
# Routes that take no JSON and answer none: HTML pages and their form posts, DER/CRL/OCSP/TSA (binary protocols,
# fuzzed by their own tests), Django's admin and language switch.
NOT_JSON = {
    "/healthz", "/readyz",  # GET only, no input: tests/*/test_health.py

    "/admin/", "/i18n/", "/login/", "/logout/", "/login/card/", "/stop/card/", "/resume/card/", "/passkeys/register/",
    "/login/passkey/", "/me/", "/me/activity/", "/me/credentials/<str:kind>/<str:credential_id>/revoke/",
    "/me/credentials/<str:kind>/<str:credential_id>/stop/", "/me/credentials/<str:kind>/<str:credential_id>/resume/",
    "/me/delete/", "/me/delete/confirm/", "/stop/", "/stop/account/", "/onboarding/", "/pki/root.cer",
    "/pki/issuing.cer", "/pki/ocsp.cer", "/pki/root.crl", "/pki/issuing.crl", "/pki/ocsp",
    "/^pki/ocsp/(?P<encoded>.+)$", "/oidc/authorize", "/oidc/authorize/consent",
    "/me/services/<str:client_id>/withdraw/", "/tsa", "/verify/",
    "/me/sign/", "/me/sign/<str:public_id>/download/", "/me/notices/<int:notice_id>/read/", "/me/notices/email/",
    "/me/notices/email/confirm/<str:token>/", "/me/refresh-consent/", "/me/refresh-consent/withdraw/", "/me/moving/",
    "/", "/me/sign/<str:public_id>/prepared/", "/me/children/", "/me/children/add/", "/me/children/add/guardian/",
    "/me/children/approvals/<int:approval_id>/", "/me/children/<str:child_id>/stop/",
    "/me/children/<str:child_id>/setup-link/", "/children/setup/<str:token>/",
    r"/^pki/tsa/(?P<serial>[0-9a-f]{1,40})\.crl$",
    "/links/consent/", "/me/links/", "/me/links/<str:link_id>/withdraw/", "/me/links/<str:link_id>/receipt/",
}  # fmt: skip
ROUTE_OF = {
    f"/me/sign/{SIGNING_ID}/finish/": "/me/sign/<str:public_id>/finish/",
    "/signing/approve/<code>": "/signing/approve/<str:code>",
    "/onboarding/device/<code>/": "/onboarding/device/<str:code>/",
    "/children/setup/<token>/complete/": "/children/setup/<str:token>/complete/",
}


@pytest.fixture
def idp(provider: None, settings: Settings) -> dict[str, dict[str, str]]:
    """The provider with a card-level resident session, a client_secret_basic client and an SSF bearer token."""
    settings.ANCHORID_SSF_ALLOW_INSECURE_HTTP = "1"
    from anchorid.idp.oidc import fastpath
    from anchorid.idp.signing.models import SigningRequest

    fastpath.reset()
    account = resident()
    browser_cookies: dict[str, str] = {}
    from django.test import Client as HttpClient

    browser = HttpClient()
    login_client(browser, account, Authentication(Level.CARD, (Method.CARD, Method.PIN)))
    browser_cookies[django_settings.SESSION_COOKIE_NAME] = browser.cookies[django_settings.SESSION_COOKIE_NAME].value
    csrf = secrets.token_hex(16)
    SigningRequest.objects.create(
        public_id=SIGNING_ID, account=account, document_sha256="0" * 64, document_digest="0" * 64,
        reserved_region_start=0, reserved_region_end=1, field_name="Signature1", approval_code_hash="0" * 64,
        expires_at=timezone.now() + timedelta(hours=1),
    )  # fmt: skip
    rp, _ = register()
    basic_rp, _ = register("basic-app", auth_method="client_secret_basic", profile="simple", require_dpop=False)
    basic = base64.b64encode(f"basic-app:{basic_rp.secret}".encode()).decode()
    cookie = "; ".join(f"{k}={v}" for k, v in {**browser_cookies, django_settings.CSRF_COOKIE_NAME: csrf}.items())
    return {
        "anonymous": {},
        "resident": {"Cookie": cookie, "X-CSRFToken": csrf, "Origin": ISSUER},
        "client": bearer(rp),
        "basic": {"Authorization": "Basic " + basic},
    }


def _wsgi() -> Any:
    from anchorid.idp.wsgi import application

    return application


def test_it_lists_every_json_endpoint_of_the_urlconf() -> None:
    from anchorid.idp.oidc import fastpath

    fuzzed = {ROUTE_OF.get(e.path, e.path) for e in JSON_ENDPOINTS}
    routes = {r for r in url_patterns("anchorid.idp.urls") if not r.startswith(("/admin/", "/i18n/"))}
    assert routes - fuzzed - NOT_JSON == set(), "new routes: fuzz them here, or name them in NOT_JSON"
    assert set(fastpath.VIEWS) <= fuzzed, "every path of the thin dispatch is fuzzed"


DEEP_TOKEN = f"{DEEP_B64}.{b64url(b'{}')}.c2ln"
ES256_HEADER = b64url(b'{"alg":"ES256","kid":"rp-1"}')
DEEP_PAYLOAD_TOKEN = f"{ES256_HEADER}.{DEEP_B64}.c2ln"
ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CALLBACK = "https://city.example/callback"


def _form(path: str, headers: dict[str, str] | None = None, **fields: str) -> FuzzRequest:
    return FuzzRequest("POST", path, urlencode(fields).encode(), FORM, headers or {})


def _deep(path: str, context: str = "anonymous", method: str = "POST") -> FuzzRequest:
    return FuzzRequest(method, path, DEEP.encode(), JSON, context=context)


BASIC = {"Authorization": "BASIC"}
NESTED_CASES: list[tuple[str, FuzzRequest, int, str]] = [
    ("token: client_assertion header", _form("/oidc/token", grant_type="client_credentials",
        client_assertion_type=ASSERTION, client_assertion=DEEP_TOKEN), 401, "invalid_client"),
    ("token: client_assertion payload", _form("/oidc/token", grant_type="client_credentials",
        client_assertion_type=ASSERTION, client_assertion=DEEP_PAYLOAD_TOKEN), 401, "invalid_client"),
    ("token: DPoP header", _form("/oidc/token", {**BASIC, "DPoP": DEEP_TOKEN}, grant_type="client_credentials"),
        400, "invalid_dpop_proof"),
    ("par: claims", _form("/oidc/par", BASIC, response_type="code", client_id="basic-app", redirect_uri=CALLBACK,
        scope="openid", state="s", nonce="n", code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method="S256", claims=DEEP), 400, "invalid_request"),
    ("userinfo: access token", FuzzRequest("GET", "/oidc/userinfo", headers={"Authorization": "Bearer " + DEEP_TOKEN}),
        401, "invalid_token"),
    ("introspection: token", _form("/oidc/introspect", BASIC, token=DEEP_TOKEN), 200, ""),
    ("revocation: token", _form("/oidc/revoke", BASIC, token=DEEP_TOKEN), 200, ""),
    ("logout: id_token_hint", FuzzRequest("GET", "/oidc/logout", query=urlencode({"id_token_hint": DEEP_TOKEN})),
        200, ""),  # an unverifiable hint is ignored: the signed-out page
    ("logout confirm: params", _form("/oidc/logout/confirm", {"Cookie": "RESIDENT"}, params=DEEP, decision="stay"),
        302, ""),  # back to the resident's page, still logged in
    ("wallet enrolment", _deep("/wallet/enroll"), 400, "bad_request"),
    ("wallet login", _deep("/login/wallet"), 400, "bad_request"),
    ("signing: validation data", _deep("/signing/validation-data"), 400, "bad_request"),
    ("signing: wallet certificate", _deep("/signing/wallet-certificate"), 400, "bad_request"),
    ("signing: finish", _deep(f"/me/sign/{SIGNING_ID}/finish/", "resident"), 400, "bad_request"),
    ("onboarding", _deep("/onboarding/complete/", "resident"), 400, "malformed_request"),
    ("onboarding: cross-device", _deep("/onboarding/device/ABCD-EFGH/"), 400, "malformed_request"),
    ("card login", _deep("/login/card/complete/", "resident"), 400, "malformed_request"),
    ("card emergency stop", _deep("/stop/card/complete/", "resident"), 400, "malformed_request"),
    ("refresh consent", _deep("/me/refresh-consent/complete/", "resident"), 400, "bad_request"),
    ("passkey login", _deep("/login/passkey/finish/", "resident"), 400, "malformed"),
    ("ssf: create stream", _deep("/ssf/streams", "client"), 400, "invalid_request"),
    ("ssf: update stream", _deep("/ssf/streams", "client", "PATCH"), 400, "invalid_request"),
    ("ssf: status", _deep("/ssf/status", "client"), 400, "invalid_request"),
    ("ssf: add subject", _deep("/ssf/subjects:add", "client"), 400, "invalid_request"),
    ("ssf: verify", _deep("/ssf/verify", "client"), 400, "invalid_request"),
    ("ssf: poll", _deep("/ssf/poll", "client"), 400, "invalid_request"),
    ("ssf: bearer token", FuzzRequest("POST", "/ssf/poll", b"{}", JSON, {"Authorization": "Bearer " + DEEP_TOKEN}),
        401, ""),
]  # fmt: skip


# What a case needs first, in the same session, for its body to reach the parser.
PREPARE = {"passkey login": FuzzRequest("POST", "/login/passkey/options/", context="resident")}


def _with_context(request: FuzzRequest, contexts: dict[str, dict[str, str]]) -> FuzzRequest:
    headers = {**request.headers, **contexts[request.context]}
    if headers.get("Cookie") == "RESIDENT":
        headers.update(contexts["resident"])
    if headers.get("Authorization") == "BASIC":
        headers["Authorization"] = contexts["basic"]["Authorization"]
    return FuzzRequest(request.method, request.path, request.body, request.content_type, headers, request.query)


@pytest.mark.parametrize(("case", "request_", "status", "error"), NESTED_CASES, ids=[c[0] for c in NESTED_CASES])
def test_it_answers_deep_nesting_with_the_protocols_error(
    idp: dict[str, dict[str, str]], case: str, request_: FuzzRequest, status: int, error: str
) -> None:
    request = _with_context(request_, idp)
    if case in PREPARE:
        assert call(_wsgi(), _with_context(PREPARE[case], idp)).status == 200
    before = row_counts()
    answer = call(_wsgi(), request)
    check(answer, request)
    assert answer.status == status, (case, answer.status, answer.body[:300])
    if error:
        assert json.loads(answer.body)["error"] == error, answer.body[:300]
    assert row_counts() == before


def test_it_answers_a_wallet_certificate_request_without_its_fields_with_bad_request(
    idp: dict[str, dict[str, str]],
) -> None:
    """Found by the fuzzer: the signing endpoint did not catch the wallet login's field errors (a 500)."""
    for body in (b"{}", b'{"certificate": 1}', b'{"certificate": "***"}'):
        request = FuzzRequest("POST", "/signing/wallet-certificate", body, JSON)
        answer = call(_wsgi(), request)
        check(answer, request)
        assert (answer.status, json.loads(answer.body)["error"]) == (400, "bad_request")


@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS, ids=[e.path for e in JSON_ENDPOINTS])
def test_it_answers_nul_in_every_parameter_without_a_5xx(idp: dict[str, dict[str, str]], endpoint: Endpoint) -> None:
    """NUL in a query or form value (PostgreSQL refuses it in a query: it was a 500 at logout and the stream API)."""
    fields = {name: "a\x00b" for name in endpoint.fields or ("x",)}
    for context in endpoint.auth:
        for method in endpoint.methods:
            for body, content_type in ((urlencode(fields).encode(), FORM), (json.dumps(fields).encode(), JSON)):
                sent = body if method not in ("GET", "HEAD") else b""
                request = FuzzRequest(method, endpoint.path, sent, content_type, dict(idp[context]), urlencode(fields))
                check(call(_wsgi(), request), request)


def test_it_never_answers_a_5xx_to_generated_requests(idp: dict[str, dict[str, str]]) -> None:
    counts = fuzz_http.run(_wsgi(), JSON_ENDPOINTS, idp, EXAMPLES)
    print("fuzz:", dict(counts))
    assert counts["requests"] >= EXAMPLES
    assert all(counts[endpoint.path] >= 10 for endpoint in JSON_ENDPOINTS), counts
