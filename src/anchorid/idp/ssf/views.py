"""HTTP endpoints of the transmitter: ``/.well-known/ssf-configuration`` (SSF 1.0 §7), the stream management API
(§8.1) and the poll endpoint (RFC 8936). Every error is JSON ``{"error", "error_description"}`` with the status
SSF names (400, 401, 403, 404, 409); nothing is changed by a refused request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from anchorid.common import untrusted_json
from anchorid.idp.oidc import config, dpop
from anchorid.idp.ssf import poll, streams
from anchorid.idp.ssf.auth import ApiError, Caller, authenticate
from anchorid.idp.ssf.models import POLL, PUSH, Stream

READ, MANAGE = "ssf.read", "ssf.manage"
MAX_BODY = 64 * 1024

PATHS = {
    "configuration_endpoint": "/ssf/streams",
    "status_endpoint": "/ssf/status",
    "add_subject_endpoint": "/ssf/subjects:add",
    "remove_subject_endpoint": "/ssf/subjects:remove",
    "verification_endpoint": "/ssf/verify",
}


def configuration() -> dict[str, Any]:
    issuer = config.issuer()
    document: dict[str, Any] = {
        "spec_version": "1_0",
        "issuer": issuer,
        "jwks_uri": issuer + "/oidc/jwks",
        "delivery_methods_supported": [PUSH, POLL],
    }
    document.update({name: issuer + path for name, path in PATHS.items()})
    document["authorization_schemes"] = [{"spec_urn": "urn:ietf:rfc:6749"}, {"spec_urn": "urn:ietf:rfc:9449"}]
    document["default_subjects"] = "ALL"
    return document


@require_http_methods(["GET", "HEAD"])
def ssf_configuration(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(configuration())
    response["Cache-Control"] = "public, max-age=300"
    return response


def _json(body: Any, status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status, safe=False, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


def _no_content() -> HttpResponse:
    response = HttpResponse(status=204)
    response["Cache-Control"] = "no-store"
    return response


def _body(request: HttpRequest) -> Any:
    if len(request.body) > MAX_BODY:
        raise ApiError(400, "invalid_request", "the request body is too large")
    try:
        return untrusted_json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_request", "the request body is not JSON") from None


def _api(path: str) -> Callable[[Callable[[HttpRequest, Callable[[str], Caller]], HttpResponse]], Any]:
    """Wrap an API view: ApiError → its JSON response; the view authenticates with the scope it needs."""

    def decorate(view: Callable[[HttpRequest, Callable[[str], Caller]], HttpResponse]) -> Any:
        @csrf_exempt
        def wrapped(request: HttpRequest) -> HttpResponse:
            try:
                response = view(request, lambda scope: authenticate(request, path, scope))
            except ApiError as error:
                response = _json(error.body(), error.status)
                for name, value in error.headers.items():
                    response[name] = value
            if "DPoP" in request.headers and "DPoP-Nonce" not in response:
                response["DPoP-Nonce"] = dpop.current_nonce()  # the nonce for the client's next proof
            return response

        wrapped.__name__ = view.__name__
        return wrapped

    return decorate


def _method_not_allowed(allowed: str) -> HttpResponse:
    response = _json({"error": "invalid_request", "error_description": f"use {allowed}"}, 405)
    response["Allow"] = allowed
    return response


@_api("/ssf/streams")
def streams_view(request: HttpRequest, auth: Callable[[str], Caller]) -> HttpResponse:
    method = request.method
    if method == "GET":
        client = auth(READ).client
        stream_id = request.GET.get("stream_id")
        if stream_id is None:
            found = Stream.objects.filter(client=client)
            return _json([streams.document(s) for s in found])
        return _json(streams.document(streams.stream_of(client, stream_id)))
    if method == "POST":
        client = auth(MANAGE).client
        return _json(streams.document(streams.create(client, _body(request))), 201)
    if method in ("PATCH", "PUT"):
        client = auth(MANAGE).client
        return _json(streams.document(streams.update(client, _body(request), replace=method == "PUT")))
    if method == "DELETE":
        client = auth(MANAGE).client
        streams.delete(client, request.GET.get("stream_id"))
        return _no_content()
    return _method_not_allowed("GET, POST, PATCH, PUT, DELETE")


@_api("/ssf/status")
def status_view(request: HttpRequest, auth: Callable[[str], Caller]) -> HttpResponse:
    if request.method == "GET":
        client = auth(READ).client
        return _json(streams.status_document(streams.stream_of(client, request.GET.get("stream_id"))))
    if request.method == "POST":
        client = auth(MANAGE).client
        return _json(streams.status_document(streams.set_status(client, _body(request))))
    return _method_not_allowed("GET, POST")


@_api("/ssf/subjects:add")
def add_subject_view(request: HttpRequest, auth: Callable[[str], Caller]) -> HttpResponse:
    if request.method != "POST":
        return _method_not_allowed("POST")
    streams.add_subject(auth(MANAGE).client, _body(request))
    return _json({}, 200)


@_api("/ssf/subjects:remove")
def remove_subject_view(request: HttpRequest, auth: Callable[[str], Caller]) -> HttpResponse:
    if request.method != "POST":
        return _method_not_allowed("POST")
    streams.remove_subject(auth(MANAGE).client, _body(request))
    return _no_content()


@_api("/ssf/verify")
def verify_view(request: HttpRequest, auth: Callable[[str], Caller]) -> HttpResponse:
    if request.method != "POST":
        return _method_not_allowed("POST")
    streams.request_verification(auth(MANAGE).client, _body(request))
    return _no_content()


@_api("/ssf/poll")
def poll_view(request: HttpRequest, auth: Callable[[str], Caller]) -> HttpResponse:
    if request.method != "POST":
        return _method_not_allowed("POST")
    return _json(poll.poll(auth(READ).client, _body(request)))
