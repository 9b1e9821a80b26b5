"""Which answer a request wants: a page, or the JSON a program reads.

Some URLs are meant for programs (the card helper, the wallet) but travel where a person may open them: a QR code a
phone's camera opens in its browser, a link copied from a page. A browser's navigation prefers ``text/html``; the
programs ask for anything (``*/*``, as ``requests`` does) or for JSON, and keep getting JSON.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers


def wants_page(request: HttpRequest) -> bool:
    """True when ``text/html`` is preferred to JSON (a browser that opened the URL)."""
    return request.get_preferred_type(["application/json", "text/html"]) == "text/html"


def private_page(response: HttpResponse) -> HttpResponse:
    """A page chosen by ``wants_page`` for a URL that carries a one-time code: never stored by a browser or a proxy,
    and marked as depending on ``Accept`` (the same URL answers JSON to the programs)."""
    response["Cache-Control"] = "no-store"
    patch_vary_headers(response, ["Accept"])
    return response
