"""Startup checks a relying party shares (``anchorid.common.startup``): its client configuration and keys,
written by its setup command, must be in the data folder, or every login answers 500."""

from __future__ import annotations

import json
from pathlib import Path

from django.core import checks

from anchorid.common.rp.setup import CLIENT_KEY_FILE, CONFIG_FILE, DPOP_KEY_FILE

REQUIRED_FIELDS = ("issuer", "client_id", "redirect_uri", "post_logout_redirect_uri", "scope")


def client_configuration_problem(folder: Path, setup_command: str) -> str | None:
    """None when ``folder`` holds a usable client configuration; what is wrong and how to fix it otherwise."""
    path = folder / CONFIG_FILE
    if not path.exists():
        return f"no relying-party configuration at {path}: run `{setup_command} --data DIR --idp IDP_URL` first"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = None
    if not isinstance(config, dict) or not all(isinstance(config.get(name), str) for name in REQUIRED_FIELDS):
        return f"the relying-party configuration {path} is unreadable or incomplete: run `{setup_command}` again"
    missing = [str(name) for name in (CLIENT_KEY_FILE, DPOP_KEY_FILE) if not (folder / name).is_file()]
    if missing:
        # Not made here: keys the idp has not registered would only fail later, at the token endpoint.
        return f"the relying-party keys {', '.join(missing)} are missing from {folder}: run `{setup_command}` again " \
            "and register the new keys at the idp"  # fmt: skip
    return None


def missing_configuration(
    folder: Path, setup_command: str, check_id: str, *, required: bool
) -> list[checks.CheckMessage]:
    problem = client_configuration_problem(folder, setup_command)
    if problem is None:
        return []
    level = checks.Error if required else checks.Warning
    return [level(problem, id=check_id)]
