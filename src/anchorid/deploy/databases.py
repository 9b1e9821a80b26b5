"""The deployment's databases on one PostgreSQL server: one per party (``PREFIX`` + party), as on separate
database servers or schemas in production. Each instance of a party uses its party's database."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql


def database_url(server: str, name: str) -> str:
    """``server`` (``postgres://user@host:port``, any path ignored) with the database ``name``."""
    parts = urlsplit(server)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def recreate(server: str, names: list[str]) -> None:
    """Drop (ending their sessions) and create the databases ``names``: a new deployment folder starts from empty
    databases (its secrets could not read the rows of another one)."""
    with psycopg.connect(database_url(server, "postgres"), autocommit=True) as connection:
        for name in names:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop(server: str, names: list[str]) -> None:
    with psycopg.connect(database_url(server, "postgres"), autocommit=True) as connection:
        for name in names:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
