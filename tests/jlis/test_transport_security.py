"""HSTS when served over HTTPS, and CSP on the staff pages (docs/decisions.md)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from support.transport_security import check_hsts

CSP_HEADER = "Content-Security-Policy"


@pytest.mark.django_db
def test_it_sends_hsts_only_over_https(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    check_hsts("anchorid.jlis.settings", "ANCHORID_JLIS_ORIGIN", "/admin/login/", monkeypatch, settings)


@pytest.mark.django_db
def test_it_sends_a_strict_content_security_policy_on_the_staff_pages(admin_client: Any, counter: Any) -> None:
    """jlis's HTML pages (the staff pages) carry the shared CSP: nothing inline, never framed."""
    pages = [
        "/admin/login/",
        "/admin/",
        "/admin/jlis/resident/",
        f"/admin/jlis/resident/{counter.adult.card.resident.pk}/change/",
    ]
    for page in pages:
        response = admin_client.get(page) if page != "/admin/login/" else Client().get(page)
        assert response.status_code == 200, page
        assert response["Content-Type"].startswith("text/html")
        policy = response[CSP_HEADER]
        assert policy.startswith("default-src 'self'"), page
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert "unsafe-eval" not in policy
        assert "script-src" not in policy  # scripts fall under default-src 'self'
