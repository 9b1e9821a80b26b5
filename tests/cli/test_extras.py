"""pyscard and psycopg are extras (``anchorid[card]``, ``anchorid[postgres]``), so a server install needs no C
compiler; the README's commands install both; without one, the code that needs it says which extra to install."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

from anchorid.common import config
from anchorid.jpki.transport import PcscTransport, PyscardMissing

ROOT = Path(__file__).resolve().parents[2]


def requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower() for requirement in requirements}


def test_it_keeps_pyscard_and_psycopg_out_of_the_base_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = requirement_names(project["dependencies"])
    assert "pyscard" not in base
    assert "psycopg" not in base
    extras = {name: requirement_names(requirements) for name, requirements in project["optional-dependencies"].items()}
    assert "pyscard" in extras["card"]
    assert "psycopg" in extras["postgres"]


def test_it_locks_the_extras_and_the_readme_commands_install_them() -> None:
    lock = (ROOT / "uv.lock").read_text()
    anchorid = lock[lock.index('name = "anchorid"') :]
    optional = anchorid[anchorid.index("[package.optional-dependencies]") :]
    assert re.search(r'^card = \[\s*\{ name = "pyscard"', optional, re.MULTILINE)
    assert re.search(r'^postgres = \[\s*\{ name = "psycopg"', optional, re.MULTILINE)
    bootstrap = (ROOT / "scripts" / "bootstrap").read_text()
    assert re.search(r"uv sync --frozen --all-extras", bootstrap)
    for command in ("demo", "test"):  # the README's two commands both run bootstrap
        assert "scripts/bootstrap" in (ROOT / "scripts" / command).read_text()


def test_it_names_the_card_extra_when_pyscard_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [module for module in sys.modules if module == "smartcard" or module.startswith("smartcard.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "smartcard", None)  # import smartcard -> ImportError, as when not installed
    with pytest.raises(PyscardMissing, match=r"anchorid\[card\]"):
        PcscTransport()


def test_it_names_the_postgres_extra_when_psycopg_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgres://postgres@127.0.0.1:5432/test"
    assert config.DATABASE_URL.value({"DATABASE_URL": url}) == url
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(config.ConfigError, match=r"DATABASE_URL=.*psycopg is not installed.*anchorid\[postgres\]"):
        config.DATABASE_URL.value({"DATABASE_URL": url})
    # SQLite (no DATABASE_URL) and other engines never need it.
    assert config.DATABASE_URL.value({}) is None
