"""What an attacker with a copy of a party's database reads in its session rows."""

from __future__ import annotations

import base64
import zlib


def raw_session_payloads() -> list[bytes]:
    """Every ``django_session`` row's ``session_data``, decoded as far as anyone can without the party's secret:
    base64, and zlib when Django compressed it (a leading '.'); the signature is simply ignored."""
    from django.contrib.sessions.models import Session

    payloads = []
    for row in Session.objects.all():
        payload = row.session_data.rsplit(":", 2)[0]  # strip the timestamp and the signature
        compressed = payload.startswith(".")
        body = payload.lstrip(".")
        data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        payloads.append(zlib.decompress(data) if compressed else data)
    return payloads
