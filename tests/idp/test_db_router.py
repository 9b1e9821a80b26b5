"""The database router's decisions (anchorid.common.dbrouter, D26) inside one request, without a server: which
alias a read gets after a write, inside a transaction, for a browser that wrote a moment ago, on a path that is not
read-only. Where the reads then really go is shown end to end, on a real primary and streaming replica, in
test_read_replica.py; here no query is made, so the replica alias is only named in the settings."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest
from django.db import router, transaction
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from pytest_django.fixtures import Settings

from anchorid.common import dbrouter
from anchorid.common.dbrouter import PIN_COOKIE, ReplicaRouter, ReplicaRoutingMiddleware
from anchorid.idp.oidc.models import SigningKey


@pytest.fixture
def with_replica(settings: Settings) -> None:
    with warnings.catch_warnings():  # "Overriding setting DATABASES can lead to unexpected behavior": no query here
        warnings.simplefilter("ignore")
        settings.DATABASES = {**settings.DATABASES, "replica": {**settings.DATABASES["default"]}}
    settings.DATABASE_ROUTERS = ["anchorid.common.dbrouter.ReplicaRouter"]


def _serve(request: HttpRequest, view: Callable[[], list[str]]) -> tuple[list[str], HttpResponse]:
    seen: list[str] = []

    def get_response(_: HttpRequest) -> HttpResponse:
        seen.extend(view())
        return HttpResponse("ok")

    return seen, ReplicaRoutingMiddleware(get_response)(request)


def test_it_reads_from_the_primary_after_a_write_in_the_same_request(with_replica: None) -> None:
    def view() -> list[str]:
        wrote = router.db_for_write(SigningKey)
        return [wrote, router.db_for_read(SigningKey)]

    seen, response = _serve(RequestFactory().get("/oidc/jwks"), view)
    assert seen == ["default", "default"]
    assert response.cookies[PIN_COOKIE].value == "1"  # and this browser keeps reading from the primary a while
    assert int(response.cookies[PIN_COOKIE]["max-age"]) == dbrouter.pin_seconds()


def test_it_reads_from_the_primary_inside_a_transaction(with_replica: None, db: None) -> None:
    def view() -> list[str]:
        with transaction.atomic():
            return [router.db_for_read(SigningKey)]

    seen, _ = _serve(RequestFactory().get("/oidc/jwks"), view)
    assert seen == ["default"]


def test_it_reads_from_the_primary_for_a_browser_that_wrote_recently(with_replica: None) -> None:
    request = RequestFactory().get("/signing/trust")
    request.COOKIES[PIN_COOKIE] = "1"
    seen, response = _serve(request, lambda: [router.db_for_read(SigningKey)])
    assert seen == ["default"]
    assert PIN_COOKIE not in response.cookies  # reading sets nothing


def test_it_reads_from_the_primary_off_the_read_only_paths(with_replica: None) -> None:
    for method, path in [("get", "/oidc/authorize"), ("post", "/oidc/token"), ("get", "/me/"), ("post", "/oidc/jwks")]:
        seen, _ = _serve(getattr(RequestFactory(), method)(path), lambda: [router.db_for_read(SigningKey)])
        assert seen == ["default"], (method, path)


def test_it_reads_from_the_primary_outside_a_request(with_replica: None) -> None:
    assert ReplicaRouter().db_for_read(SigningKey) == "default"  # background work, management commands


def test_it_names_the_read_only_paths_of_each_party() -> None:
    assert dbrouter.read_only_path("idp", "GET", "/oidc/jwks")
    assert dbrouter.read_only_path("idp", "POST", "/pki/ocsp")
    assert not dbrouter.read_only_path("idp", "POST", "/pki/root.crl")
    assert dbrouter.read_only_path("jlis", "POST", "/ocsp/sign")
    assert dbrouter.read_only_path("city", "GET", "/booking/facilities/3/")
    assert dbrouter.read_only_path("city", "GET", "/booking/")
    assert not dbrouter.read_only_path("city", "POST", "/booking/book/")
    assert not dbrouter.read_only_path("city", "GET", "/booking/bookings/B-1/paid/")
    assert not dbrouter.read_only_path("idp", "GET", "/oidc/userinfo")
