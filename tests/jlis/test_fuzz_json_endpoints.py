"""Bad input never becomes a 500 at J-LIS's operator API (issue #11 §2), through ``anchorid.jlis.wsgi.application``.

The operator API authenticates each request by a JWS over its method, URL and body hash, so the fuzzer signs every
generated body as the registered operator (the "operator" context) as well as sending it unsigned or with a forged
``Authorization``: the parser behind the signature check is reached. Deep nesting in the body, the JWS header and a
card-signed consent document answers the API's own error format (``{"error", "error_description"}``).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import ECKey

from anchorid.jlis.operator_api import AUTHORIZATION_SCHEME, body_hash
from support.fuzz_http import JSON, Endpoint, FuzzRequest, b64url, call, check, row_counts, run, url_patterns

EXAMPLES = 1_000
DEEP = "[" * 3_000
# Every request the operator's key signed is remembered (replay protection) before its body is read.
SIGNED_WRITES = ("jlis_usedrequestid",)
FIELDS = ("document", "signature", "certificate")
BOTH = ("anonymous", "operator")
JSON_ENDPOINTS = [
    Endpoint("/api/operator/v1/consents", ("POST",), FIELDS, BOTH, SIGNED_WRITES),
    Endpoint("/api/operator/v1/guardianships", ("POST",), FIELDS, BOTH, SIGNED_WRITES),
    Endpoint("/api/operator/v1/consents/1", ("DELETE",), FIELDS, BOTH, SIGNED_WRITES),
    Endpoint("/api/operator/v1/certificates/signature/1/attributes", ("GET",), FIELDS, BOTH, SIGNED_WRITES),
    Endpoint("/api/operator/v1/certificates/authentication/1/links", ("GET",), FIELDS, BOTH, SIGNED_WRITES),
]
ROUTE_OF = {
    "/api/operator/v1/consents/1": "/api/operator/v1/consents/<int:consent_id>",
    "/api/operator/v1/certificates/signature/1/attributes": "/api/operator/v1/certificates/<str:kind>/<str:serial>/attributes",  # noqa: E501
    "/api/operator/v1/certificates/authentication/1/links": "/api/operator/v1/certificates/<str:kind>/<str:serial>/links",  # noqa: E501
}
# OCSP, CRLs and CA certificates are DER (their own fuzz and interop tests); the admin is Django's.
NOT_JSON = {
    "/healthz",
    "/readyz",
    "/^ocsp/(?P<rest>.*)$",
    "/crl/<str:kind>.crl",
    "/ca/<str:kind>-ocsp.cer",
    "/ca/<str:kind>.cer",
}


def _signer(key: ECKey, kid: str) -> Any:
    def sign(request: FuzzRequest) -> dict[str, str]:
        query = f"?{request.query}" if request.query else ""
        claims = {
            "htm": request.method,
            "htu": "http://testserver" + request.path + query,
            "bsh": body_hash(request.body),
            "iat": int(time.time()),
            "jti": uuid.uuid4().hex,
        }
        token = jws.serialize_compact({"alg": "ES256", "kid": kid}, json.dumps(claims), key)
        return {"Authorization": f"{AUTHORIZATION_SCHEME} {token}"}

    return sign


@pytest.fixture
def contexts(operator: Any) -> dict[str, Any]:
    return {"anonymous": {}, "operator": _signer(operator.key, operator.kid)}


def _wsgi() -> Any:
    from anchorid.jlis.wsgi import application

    return application


def test_it_lists_every_json_endpoint_of_the_urlconf() -> None:
    fuzzed = {ROUTE_OF.get(e.path, e.path) for e in JSON_ENDPOINTS}
    routes = {r for r in url_patterns("anchorid.jlis.urls") if not r.startswith("/admin/")}
    assert routes - fuzzed - NOT_JSON == set(), "new routes: fuzz them here, or name them in NOT_JSON"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _answer(request: FuzzRequest, contexts: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    if request.context == "operator":
        request.headers.update(contexts["operator"](request))
    before = row_counts()
    answer = call(_wsgi(), request)
    check(answer, request)
    changed = {table for table, count in row_counts().items() if before[table] != count}
    assert changed <= set(SIGNED_WRITES), changed
    return answer.status, json.loads(answer.body)


def test_it_answers_a_deeply_nested_body_with_invalid_request(contexts: dict[str, Any]) -> None:
    request = FuzzRequest("POST", "/api/operator/v1/consents", DEEP.encode(), JSON, context="operator")
    status, body = _answer(request, contexts)
    assert (status, body["error"]) == (400, "invalid_request")


def test_it_answers_a_deeply_nested_signature_header_with_401(contexts: dict[str, Any]) -> None:
    token = f"{b64url(DEEP.encode())}.{b64url(b'{}')}.c2ln"
    request = FuzzRequest("POST", "/api/operator/v1/consents", b"{}", JSON, {"Authorization": f"Operator {token}"})
    request.headers["Authorization"] = f"{AUTHORIZATION_SCHEME} {token}"
    status, body = _answer(request, contexts)
    assert (status, body["error"]) == (401, "malformed_signature")


def test_it_answers_a_deeply_nested_consent_document_with_its_error(
    contexts: dict[str, Any], fresh: Any, card_sign: Any
) -> None:
    document = DEEP.encode()
    body = json.dumps(
        {
            "document": _b64(document),
            "signature": _b64(card_sign(fresh.path, document)),
            "certificate": _b64(bytes(fresh.signature_certificate.der)),
        }
    ).encode()
    request = FuzzRequest("POST", "/api/operator/v1/consents", body, JSON, context="operator")
    status, answer = _answer(request, contexts)
    assert (status, answer["error"]) == (400, "invalid_consent_document")


def test_it_never_answers_a_5xx_to_generated_requests(contexts: dict[str, Any]) -> None:
    counts = run(_wsgi(), JSON_ENDPOINTS, contexts, EXAMPLES)
    print("fuzz:", dict(counts))
    assert counts["requests"] >= EXAMPLES
    assert all(counts[endpoint.path] >= 100 for endpoint in JSON_ENDPOINTS), counts
