"""One model row INSERTed without the ORM's query compiler, for the few inserts on a hot path.

``insert(Model, **values)`` builds the instance as ``Model(**values)`` does (defaults included), prepares every
column exactly as the ORM's insert does (``pre_save``, then ``get_db_prep_save``: JSON, dates and keys the way the
database in use takes them), and sends one ``INSERT`` with those values through the model's write database. What
it skips is ``Model.save``'s machinery: no ``pre_save``/``post_save`` signals (so only for models nothing listens
to) and no query building, which cost more than the insert itself on the OpenID Provider's login path (issue #13).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import connections, models, router

M = TypeVar("M", bound=models.Model)


def insert(model: type[M], **values: Any) -> M:
    """INSERT one row of ``model`` (its primary key given in ``values``); returns the saved instance."""
    instance = model(**values)
    using = router.db_for_write(model, instance=instance)
    connection = connections[using]
    fields = list(model._meta.local_concrete_fields)
    columns = ", ".join(connection.ops.quote_name(str(field.column)) for field in fields)
    params = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    instance._state.adding = False
    instance._state.db = using
    return instance
