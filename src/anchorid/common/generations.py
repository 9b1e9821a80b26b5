"""Generation stamps: how a process learns, cheaply and within a second, that another process changed what it caches.

Some tables are read on nearly every request and change rarely: the idp's signing-key roles (a rotation) and its
clients (an edit in the admin, ``anchorid idp client disable``). Each process keeps a copy. The process that makes
the change drops its own copy at once; every other worker, every other instance and the command-line tools learn
of it through a row of ``anchorid_common_cachegeneration``: the change adds one to the row's number in the same
transaction (``Generation.bump``), and each process compares the number it last saw with the row's at most once
per ``CHECK_SECONDS`` (``Generation.changed``: one primary-key read), dropping its copy when they differ.

The stamp lives in the party's database, not in Redis, on purpose: it commits with the change it announces, so a
process that sees the new number is sure to read the new rows (a stamp in Redis could be seen before the
database commit, or be lost with a Redis restart while the change is not). One read a second per process and per
name costs nothing next to the requests it serves.
"""

from __future__ import annotations

import math
import threading
import time

from django.db import connections, router

#: Seconds between two reads of a stamp by one process: how long another process's change may go unseen.
CHECK_SECONDS = 1.0


def _table() -> tuple[str, str]:
    from anchorid.common.models import CacheGeneration

    alias = router.db_for_write(CacheGeneration)
    return alias, connections[alias].ops.quote_name(CacheGeneration._meta.db_table)


class Generation:
    """The stamp called ``name`` (one per cached thing), as this process sees it."""

    def __init__(self, name: str, *, check_seconds: float = CHECK_SECONDS) -> None:
        self.name = name
        self.check_seconds = check_seconds
        self._seen: int | None = None
        self._checked_at = -math.inf
        self._lock = threading.Lock()

    def bump(self) -> None:
        """Announce a change. Call it inside the transaction that makes the change, so both commit together."""
        alias, table = _table()
        with connections[alias].cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (name, generation) VALUES (%s, 1) "  # noqa: S608 (our table name)
                f"ON CONFLICT (name) DO UPDATE SET generation = {table}.generation + 1",
                [self.name],
            )
        with self._lock:
            self._checked_at = -math.inf  # this process's own next check reads the row again

    def read(self) -> int:
        """The stamp's number now (0 before the first change)."""
        from anchorid.common.models import CacheGeneration

        value = CacheGeneration.objects.filter(name=self.name).values_list("generation", flat=True).first()
        return int(value or 0)

    def changed(self, *, now: float | None = None) -> bool:
        """True when the stamp moved since this process last looked (and on the first look, when this process
        cannot know how old its copy is). Reads the row at most once per ``check_seconds``; False in between."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if now - self._checked_at < self.check_seconds:
                return False
            self._checked_at = now
        value = self.read()
        with self._lock:
            moved = value != self._seen
            self._seen = value
        return moved

    def forget(self) -> None:
        """Look again at the next ``changed`` (tests; a process that dropped its copy for its own reasons)."""
        with self._lock:
            self._seen, self._checked_at = None, -math.inf
