"""HSTS when served over HTTPS (docs/decisions.md)."""

from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings

from support.transport_security import check_hsts


@pytest.mark.django_db
def test_it_sends_hsts_only_over_https(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    check_hsts("anchorid.idp.settings", "ANCHORID_IDP_ORIGIN", "/admin/login/", monkeypatch, settings)
