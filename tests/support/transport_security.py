"""HSTS checks shared by every party's tests: a party's own settings module, run afresh with the environment an
operator sets (an https origin, a TLS proxy), decides what Django's SecurityMiddleware sends; the request then goes
through the party's real middleware."""

from __future__ import annotations

import runpy
from typing import Any

import pytest
from django.conf import global_settings
from django.test import Client
from pytest_django.fixtures import Settings

HSTS = "Strict-Transport-Security"
A_YEAR = 365 * 24 * 60 * 60


def party_settings(module: str, monkeypatch: pytest.MonkeyPatch, **environment: str) -> dict[str, Any]:
    """The settings ``module`` (and the shared base it star-imports) define under ``environment``."""
    for name in ("ANCHORID_TLS_PROXY", "ANCHORID_HSTS_SECONDS", "ANCHORID_HSTS_INCLUDE_SUBDOMAINS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    base = runpy.run_module("anchorid.common.settings_base")
    party = runpy.run_module(module)
    return {**party, "SECURE_PROXY_SSL_HEADER": base.get("SECURE_PROXY_SSL_HEADER")}


def apply(settings: Settings, party: dict[str, Any]) -> None:
    for name in ("SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_PROXY_SSL_HEADER"):
        setattr(settings, name, party.get(name, getattr(global_settings, name)))


def check_hsts(
    module: str, origin_setting: str, path: str, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    """An https origin: HSTS on https requests, never on plain http; behind a TLS proxy: HSTS when the proxy says
    https; the demo's http origin: none at all."""
    apply(settings, party_settings(module, monkeypatch, **{origin_setting: "https://party.example.jp"}))
    secure = Client().get(path, secure=True)
    assert secure[HSTS] == f"max-age={A_YEAR}"
    assert HSTS not in Client().get(path)

    demo_origin = {origin_setting: "http://localhost:8001"}
    apply(settings, party_settings(module, monkeypatch, ANCHORID_TLS_PROXY="1", **demo_origin))
    assert Client().get(path, HTTP_X_FORWARDED_PROTO="https")[HSTS] == f"max-age={A_YEAR}"
    assert HSTS not in Client().get(path, HTTP_X_FORWARDED_PROTO="http")

    demo = party_settings(module, monkeypatch, **demo_origin)
    assert demo["SECURE_HSTS_SECONDS"] == 0
    assert demo["SECURE_PROXY_SSL_HEADER"] is None
    apply(settings, demo)
    assert HSTS not in Client().get(path, secure=True, HTTP_X_FORWARDED_PROTO="https")
