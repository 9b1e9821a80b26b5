"""One-time ``jti`` values (client assertions, RFC 7523 §3 item 7; DPoP proofs, RFC 9449 §11.1).

A jti is remembered in the database until the token carrying it would be refused anyway (its ``exp`` or the DPoP
``iat`` window), so every worker and every machine sees the same record. One statement per check:
``INSERT … ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL); a row count of 0 means the value was seen before.
Expired rows are purged now and then by whoever inserts.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime

from django.db import connection
from django.utils import timezone

from anchorid.idp.oidc.models import SeenJti

PURGE_ONE_IN = 500


def first_use(purpose: str, issuer: str, jti: str, expires_at: datetime) -> bool:
    """Record ``jti`` for ``purpose`` and ``issuer``; False when it was recorded before (a replay)."""
    key = hashlib.sha256(f"{purpose}\x00{issuer}\x00{jti}".encode()).hexdigest()
    table = SeenJti._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, expires_at) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",  # noqa: S608
            [key, expires_at],
        )
        inserted = bool(cursor.rowcount == 1)
    if random.randrange(PURGE_ONE_IN) == 0:
        SeenJti.objects.filter(expires_at__lt=timezone.now()).delete()
    return inserted
