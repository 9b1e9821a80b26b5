"""The participation platform's session store: ``anchorid.common.session_store`` (fewer statements to write a
login's session) with a lighter read. Every vote reads the session to know who votes; Django's ``load`` builds a
query through the ORM and a model instance for one column. Here the read is one parameterised SELECT of that column
through a cursor — the same row, the same expiry condition, the same decoding (``anchorid.common.sessions``), the same
answer for a missing, expired or undecodable session (an empty one, with the key dropped so a new one is made)."""

from __future__ import annotations

from typing import Any

from django.db import connections, router
from django.utils import timezone

from anchorid.common.session_store import SessionStore as CommonSessionStore


class SessionStore(CommonSessionStore):
    def load(self) -> dict[str, Any]:
        if not self.session_key:
            self._session_key = None
            return {}
        using = router.db_for_read(self.model)
        connection = connections[using]
        table = connection.ops.quote_name(self.model._meta.db_table)
        now = connection.ops.adapt_datetimefield_value(timezone.now())  # as the ORM would compare it
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s",  # noqa: S608
                           [self.session_key, now])  # fmt: skip
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return {}
        decoded: dict[str, Any] = self.decode(row[0])
        return decoded
