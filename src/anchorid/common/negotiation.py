"""Which answer a request wants: a page, or the JSON a program reads.

Some URLs are meant for programs (the card helper, the wallet) but travel where a person may open them: a QR code a
phone's camera opens in its browser, a link copied from a page. A browser's navigation prefers ``text/html``; the
programs ask for anything (``*/*``, as ``requests`` does) or for JSON, and keep getting JSON.
"""

from __future__ import annotations

from django.http import HttpRequest


def wants_page(request: HttpRequest) -> bool:
    """True when ``text/html`` is preferred to JSON (a browser that opened the URL)."""
    return request.get_preferred_type(["application/json", "text/html"]) == "text/html"
