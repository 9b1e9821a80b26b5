"""A database session store that writes a login's session once: Django's ``db`` engine, fewer statements.

``SESSION_ENGINE = "anchorid.common.session_store"`` (the idp sets it). The rows, the cookie, the encrypted payload
(``anchorid.common.sessions``) and every guarantee are Django's; what changes is how many statements get there:

- a new session key is not looked up before it is used (Django's ``_get_new_session_key`` asks ``exists`` first):
  the INSERT itself is the check -- the primary key refuses a duplicate, and ``create`` then draws another key (as
  Django's own ``create`` already does for the race between its look-up and its insert). 32 characters from 36
  (165 bits) do not collide in practice;
- ``cycle_key`` (every login: session fixation) deletes the old row and leaves the new key's INSERT to the save at
  the end of the request, instead of inserting the row at once and updating it at the end (Django: look-up,
  INSERT, SELECT, DELETE, UPDATE; here DELETE, INSERT);
- ``delete`` is one DELETE (Django reads the row first);
- a session is loaded with one raw SELECT of its data (the ORM's ``get`` built the query anew on every request
  that reads the session: every authorization);
- a save outside a transaction is one statement, in the database's own autocommit (Django opens a transaction
  around it, which on SQLite takes the write lock for a BEGIN and a COMMIT); inside a transaction it keeps its
  savepoint, so a refused INSERT does not break the caller's transaction.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string


class SessionStore(DatabaseSessionStore):
    _insert_at_save = False

    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)  # the INSERT checks it is unused (module docstring)

    def load(self) -> dict[str, Any]:
        """The session's data, or ``{}`` (and no key) when there is no such unexpired session: Django's ``load``
        with its ORM ``get`` replaced by one raw read of the same row."""
        key = self.session_key
        row = None
        if key is not None:
            using = router.db_for_read(self.model)
            connection = connections[using]
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT session_data FROM {self.model._meta.db_table} WHERE session_key = %s AND expire_date > %s",  # noqa: S608
                    [key, connection.ops.adapt_datetimefield_value(timezone.now())],
                )
                row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return {}
        data: dict[str, Any] = self.decode(row[0])
        return data

    def cycle_key(self) -> None:
        data = self._session  # type: ignore[attr-defined]
        old = self.session_key
        self._session_key = self._get_new_session_key()
        self._session_cache = data
        self.modified = True
        self._insert_at_save = True
        if old:
            self.delete(old)

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        if self._insert_at_save and not must_create:
            while True:  # the key chosen by cycle_key: a collision draws another, as create() does
                try:
                    self._write(must_create=True)
                except CreateError:
                    self._session_key = self._get_new_session_key()
                    continue
                self._insert_at_save = False
                return None
        self._write(must_create=must_create)
        return None

    def _write(self, *, must_create: bool) -> None:
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]
        obj = self.create_model_instance(data)
        using = router.db_for_write(self.model, instance=obj)
        guard: Any = transaction.atomic(using=using) if connections[using].in_atomic_block else contextlib.nullcontext()
        try:
            with guard:
                obj.save(force_insert=must_create, force_update=not must_create, using=using)
        except IntegrityError:
            if must_create:
                raise CreateError from None
            raise
        except DatabaseError:
            if not must_create:
                raise UpdateError from None
            raise

    def delete(self, session_key: str | None = None) -> None:
        key = session_key if session_key is not None else self.session_key
        if key is None:
            return
        self.model.objects.filter(session_key=key).delete()
