"""The settings reference page (docs/settings.md), generated from ``anchorid.common.config``:
``anchorid settings-doc > docs/settings.md``. A test fails when the page and the registry differ."""

from __future__ import annotations

from typing import Any

from anchorid.common import config

HEADER = """# Settings reference

Generated from `src/anchorid/common/config.py` by `anchorid settings-doc > docs/settings.md`; do not edit by hand
(tests/cli/test_settings_registry.py fails when this page and the code differ). Every setting is an environment
variable, read through that one registry (docs/decisions.md D23). Unset or empty means the default. A value that
does not parse stops `anchorid serve` and `anchorid check` before anything starts, naming the variable.

- **secret**: never logged or shown; keep it in a secret store, the same on every instance.
- **production**: `anchorid check PARTY --deploy` (run by `anchorid serve` when `ANCHORID_ENV=production`)
  refuses to run the party without it. It also refuses `ANCHORID_DEBUG`, `ANCHORID_INSECURE_COOKIES`, an origin
  that is not https or `ANCHORID_HSTS_SECONDS=0`, weak or reused secrets, SQLite with more than one worker, and a
  data or key folder others may read (`anchorid check --help`; docs/decisions.md D23).
- Flags take `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`; seconds may have a fraction.
"""

SECTION_TITLES = {
    "all servers": "All servers (jlis, idp, city, providers, participation, currency, library)",
    config.JLIS: "jlis (the simulated J-LIS)",
    config.IDP: "idp (the ID platform)",
    config.CITY: "city",
    config.PROVIDERS: "providers (the sample private providers)",
    config.PARTICIPATION: "participation (the participation platform)",
    config.CURRENCY: "currency (the local currency)",
    config.LIBRARY: "library (the e-library)",
    config.CLI: "Command-line tools only",
}


def _section(setting: config.Setting[Any]) -> str:
    if set(config.SERVERS) <= set(setting.parties):
        return "all servers"
    return next(party for party in config.SECTIONS[1:] if party in setting.parties)


def _default(setting: config.Setting[Any]) -> str:
    if setting.default_doc is not None:
        return setting.default_doc
    value = setting.default
    if value is None or value == "" or value == [] or value == {}:
        return "—" if value is None else "empty"
    if isinstance(value, bool):
        return "`1`" if value else "`0`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, list):
        value = ",".join(value)
    return f"`{value}`"


def _row(setting: config.Setting[Any]) -> str:
    marks = [mark for mark, on in (("secret", setting.secret), ("production", setting.production)) if on]
    cells = [
        f"`{setting.name}`",
        setting.kind.name,
        _default(setting),
        ", ".join(setting.parties),
        ", ".join(marks),
        setting.doc.replace("|", "\\|"),
    ]
    return "| " + " | ".join(cells) + " |"


def render() -> str:
    lines = [HEADER]
    for section in config.SECTIONS:
        settings = [setting for setting in config.REGISTRY.values() if _section(setting) == section]
        if not settings:
            continue
        lines += [f"## {SECTION_TITLES[section]}", ""]
        lines += ["| variable | type | default | read by | notes | what |", "|---|---|---|---|---|---|"]
        lines += [_row(setting) for setting in settings]
        lines.append("")
    lines += [
        "## Not environment variables",
        "",
        "These `ANCHORID_*` names in the code are Django settings a settings module sets, or constants:",
        "",
        *(f"- `{name}`: {what}" for name, what in sorted(config.INTERNAL_NAMES.items())),
        "",
    ]
    return "\n".join(lines)
