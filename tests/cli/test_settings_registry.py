"""The settings registry (``anchorid.common.config``) is the one place AnchorID reads its environment: every
``ANCHORID_*`` name in src/ is declared there, no module reads one from ``os.environ`` itself, docs/settings.md is
generated from it, and a value that does not parse is named instead of failing deep inside."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from anchorid.common import config
from anchorid.common.settings_doc import render

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
ANCHORID = [sys.executable, "-m", "anchorid.cli"]
#: An ANCHORID_ name; one ending in ``_`` or followed by ``*`` is a family in prose (``ANCHORID_SSF_*``).
NAME = re.compile(r"\bANCHORID_[A-Z0-9_]+\*?")
#: Reading a variable ourselves: os.environ.get("ANCHORID_…"), os.environ["ANCHORID_…"] (not an assignment),
#: os.getenv("ANCHORID_…") — also with DATABASE_URL / REDIS_URL.
OWN_READ = re.compile(
    r"""(?:environ\.get|getenv)\(\s*["'](?:ANCHORID_|DATABASE_URL|REDIS_URL)"""
    r"""|environ\[\s*["'](?:ANCHORID_|DATABASE_URL|REDIS_URL)[A-Z0-9_]*["']\s*\](?!\s*=[^=])"""
)


def names_in(text: str) -> list[str]:
    return [name for name in NAME.findall(text) if not name.endswith(("_", "*"))]


def source_files() -> list[Path]:
    return sorted(path for path in SRC.rglob("*") if path.suffix in (".py", ".html", ".txt", ".toml", ".json"))


def test_it_keeps_docs_settings_md_in_step_with_the_registry() -> None:
    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert page == render(), "docs/settings.md is stale: run  .venv/bin/anchorid settings-doc > docs/settings.md"


def test_it_declares_every_anchorid_name_that_src_mentions() -> None:
    where: dict[str, set[str]] = defaultdict(set)
    for path in source_files():
        for name in names_in(path.read_text(encoding="utf-8", errors="replace")):
            where[name].add(str(path.relative_to(ROOT)))
    undeclared = {name: files for name, files in where.items() if name not in config.REGISTRY}
    undeclared = {name: files for name, files in undeclared.items() if name not in config.INTERNAL_NAMES}
    assert not undeclared, (
        "declare these in src/anchorid/common/config.py (one Setting(...) each), then regenerate docs/settings.md:\n"
        + "\n".join(f"  {name}: {', '.join(sorted(files))}" for name, files in sorted(undeclared.items()))
    )


def test_it_reads_no_variable_outside_the_registry() -> None:
    own_reads = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in source_files()
        if path.suffix == ".py" and path != SRC / "anchorid" / "common" / "config.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OWN_READ.search(line)
    ]
    assert not own_reads, "read these through anchorid.common.config (SETTING.value() / .configured()):\n" + "\n".join(
        own_reads
    )


def test_it_finds_an_undeclared_name_and_an_own_read() -> None:
    """The two scans above catch what they are for (a scan that matches nothing would pass forever)."""
    assert names_in('x = os.environ.get("ANCHORID_NEW_THING")  # see ANCHORID_SSF_* and ANCHORID_OIDC_') == [
        "ANCHORID_NEW_THING"
    ]
    assert OWN_READ.search('os.environ.get("ANCHORID_NEW_THING", "1")')
    assert OWN_READ.search("os.environ['REDIS_URL']")
    assert not OWN_READ.search('os.environ["ANCHORID_DATA_DIR"] = str(path)')


def test_it_documents_every_setting_with_a_type_parties_and_a_line() -> None:
    for setting in config.REGISTRY.values():
        assert setting.doc.strip(), setting.name
        assert setting.parties, setting.name
        assert set(setting.parties) <= {*config.SERVERS, config.CLI}, setting.name
        assert setting.name in render()
    for name in ("ANCHORID_PERSON_KEY_SECRET", "ANCHORID_SECRET_KEY", "ANCHORID_KEYSTORE_PASSPHRASE"):
        assert config.REGISTRY[name].secret
        assert config.REGISTRY[name].production


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("ANCHORID_DEBUG", "yes", True),
        ("ANCHORID_DEBUG", "0", False),
        ("ANCHORID_CARD_HELPER_PORT", " 31600 ", 31600),
        ("ANCHORID_SSF_RETRY_BASE", "0.25", 0.25),
        ("ANCHORID_IDP_ORIGIN", "https://id.city.example/", "https://id.city.example"),
        ("ANCHORID_RATE_LIMITS", '{"login-ip": [5, 60]}', {"login-ip": [5, 60]}),
        ("ANCHORID_ALLOWED_HOSTS", "a.example, b.example,", ["a.example", "b.example"]),
        ("ANCHORID_SWEEP_STRATEGY", "Probe", "probe"),
        ("ANCHORID_DATA_DIR", "/srv/anchorid", Path("/srv/anchorid")),
        ("ANCHORID_DEBUG", "", False),  # empty is unset: the default
    ],
)
def test_it_parses_each_kind(name: str, value: str, expected: object) -> None:
    assert config.REGISTRY[name].value({name: value}) == expected


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("ANCHORID_DEBUG", "maybe", "expected 1/true/yes/on or 0/false/no/off"),
        ("ANCHORID_CARD_HELPER_PORT", "31519a", "expected a whole number"),
        ("ANCHORID_SSF_RETRY_BASE", "-1", "seconds, 0 or more"),
        ("ANCHORID_IDP_ORIGIN", "id.example", "http:// or https:// URL"),
        ("ANCHORID_RATE_LIMITS", "{login-ip: 5}", "expected a JSON object"),
        ("ANCHORID_RATE_LIMITS", "[1, 2]", "expected a JSON object"),
        ("ANCHORID_SWEEP_STRATEGY", "sideways", "expected one of auto, stream, probe"),
        ("ANCHORID_ENV", "prod", "expected one of development, production"),
    ],
)
def test_it_names_the_setting_whose_value_does_not_parse(name: str, value: str, says: str) -> None:
    with pytest.raises(config.ConfigError) as raised:
        config.REGISTRY[name].value({name: value})
    assert str(raised.value).startswith(f"{name}=")
    assert says in str(raised.value)


def test_it_never_shows_a_secret_that_does_not_parse() -> None:
    secret = config.Setting("ANCHORID_TEST_ONLY_SECRET_NUMBER", config.INTEGER, 0, config.CLI, "x", secret=True)
    try:
        with pytest.raises(config.ConfigError) as raised:
            secret.value({secret.name: "hunter2-is-my-pin"})
        assert "hunter2" not in str(raised.value)
    finally:
        del config.REGISTRY[secret.name]


def test_it_lists_every_unparsable_setting_of_a_party_at_once() -> None:
    environ = {"ANCHORID_DEBUG": "maybe", "ANCHORID_SSF_RETRY_BASE": "soon", "ANCHORID_CITY_ORIGIN": "nowhere"}
    found = config.problems("idp", environ)
    assert [line.split("=")[0] for line in found] == ["ANCHORID_DEBUG", "ANCHORID_SSF_RETRY_BASE"]  # not the city's


def test_it_refuses_to_serve_with_settings_that_do_not_parse(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(ANCHORID_SSF_RETRY_BASE="soon", ANCHORID_HSTS_SECONDS="a year")
    done = subprocess.run([*ANCHORID, "serve", "idp", "--port", "9", "--data", str(tmp_path / "idp")], env=env,
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)  # fmt: skip
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "ANCHORID_SSF_RETRY_BASE='soon' is not valid: expected a number" in done.stderr
    assert "ANCHORID_HSTS_SECONDS='a year' is not valid: expected a whole number" in done.stderr


def test_it_prints_the_reference_page_with_the_cli() -> None:
    done = subprocess.run([*ANCHORID, "settings-doc"], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout == render()
