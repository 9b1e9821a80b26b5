"""The authentication backend a resident's session is read back with: Django's ``ModelBackend.get_user``, one raw read.

Every request with a logged-in session (each authorization of the OpenID Provider among them) reads the account
back through the backend named in the session. Django's ``ModelBackend.get_user`` does it with the ORM's
``get(pk=...)``, whose query building cost more than the read (about a third of an authorization's CPU, issue #13).
This backend reads the same row with ``Account.objects.raw`` and applies the same rule afterwards (an inactive
account is no user: ``None``). It authenticates nobody (``authenticate`` is ``BaseBackend``'s ``None``) and grants
no permissions: staff password logins and permissions stay with ``ModelBackend``, listed first in
``AUTHENTICATION_BACKENDS``, which also keeps sessions opened before this backend existed valid.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.core.exceptions import ValidationError
from django.db import connection

from anchorid.idp.accounts.models import Account


class SessionAccountBackend(BaseBackend):
    def get_user(self, user_id: Any) -> Account | None:
        key = Account._meta.pk
        assert key is not None
        try:
            value = key.get_db_prep_value(key.to_python(user_id), connection)
        except ValidationError:
            return None
        table = Account._meta.db_table
        rows = list(Account.objects.raw(f"SELECT * FROM {table} WHERE {key.column} = %s", [value]))  # noqa: S608
        user = rows[0] if rows else None
        return user if user is not None and getattr(user, "is_active", True) else None
