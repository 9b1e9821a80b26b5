"""Pages whose form is answered with a redirect to a relying party name its origin in CSP form-action."""

from __future__ import annotations

from django.http import HttpResponse

from anchorid.common.csp import CSP_HEADER, allow_form_targets


def _page(policy: str) -> HttpResponse:
    response = HttpResponse("page")
    response[CSP_HEADER] = policy
    return response


def test_it_adds_the_redirect_origin_to_form_action_and_keeps_the_rest() -> None:
    page = allow_form_targets(
        _page("default-src 'self'; form-action 'self'; frame-ancestors 'none'"), "https://city.example:8443/cb?x=1"
    )
    expected = "default-src 'self'; form-action 'self' https://city.example:8443; frame-ancestors 'none'"
    assert page[CSP_HEADER] == expected


def test_it_names_a_native_apps_scheme() -> None:
    page = allow_form_targets(_page("form-action 'self'"), "jp.example.app:/callback")
    assert page[CSP_HEADER] == "form-action 'self' jp.example.app:"


def test_it_leaves_the_policy_alone_without_a_target() -> None:
    page = allow_form_targets(_page("form-action 'self'"), None, "")
    assert page[CSP_HEADER] == "form-action 'self'"


def test_it_adds_form_action_when_the_policy_has_none() -> None:
    page = allow_form_targets(_page("default-src 'self'"), "http://localhost:8002/callback")
    assert page[CSP_HEADER] == "default-src 'self'; form-action 'self' http://localhost:8002"
