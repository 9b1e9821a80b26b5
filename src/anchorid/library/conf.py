"""The library's own settings, typed (they live in ``anchorid.library.settings``; tests override them)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

BOOKS_DIR, CITY_CODE, CONTENT_URL_SECONDS = (
    "LIBRARY_BOOKS_DIR",
    "ANCHORID_LIBRARY_CITY_CODE",
    "ANCHORID_LIBRARY_CONTENT_URL_SECONDS",
)


def books_dir() -> Path:
    return Path(getattr(settings, BOOKS_DIR))


def city_code() -> str:
    return str(getattr(settings, CITY_CODE))


def content_url_seconds() -> float:
    return float(getattr(settings, CONTENT_URL_SECONDS))
