"""What an attacker with a copy of a party's database reads in its session rows."""

from __future__ import annotations

import base64
import zlib


def raw_payload(session_data: str) -> bytes:
    """One ``django_session.session_data`` value, decoded as far as anyone can without the party's secret: base64,
    and zlib when Django compressed it (a leading '.'); the timestamp and signature are simply dropped."""
    payload = session_data.rsplit(":", 2)[0]
    compressed = payload.startswith(".")
    body = payload.lstrip(".")
    data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return zlib.decompress(data) if compressed else data


def raw_session_payloads() -> list[bytes]:
    """Every session row of the party under test (Django's database), decoded by ``raw_payload``."""
    from django.contrib.sessions.models import Session

    return [raw_payload(row.session_data) for row in Session.objects.all()]
