"""Refuse to start a server that cannot work: every party's required settings, checked before it serves.

A party without what it needs (the idp's key-store passphrase, jlis's CA passphrase, a relying party's client
configuration, ...) used to start and then answer 500 wherever the missing piece was used. Each party registers
Django system checks (``django.core.checks``) under the tag ``TAG``, as deployment checks: ``anchorid serve
PARTY`` runs them after Django is set up and before the database is migrated or Granian listens, and exits
non-zero with every error's message, which names the setting and says how to set it. ``django-admin check
--deploy --tag anchorid-startup`` runs the same checks.

A check must be cheap and must not need the database (it runs before ``migrate``); it may open one key file to
tell a wrong passphrase from a missing one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from django.core import checks

from anchorid.common import config

#: The tag of the startup checks (``check --deploy --tag anchorid-startup``).
TAG = "anchorid-startup"


def register(function: Callable[..., list[checks.CheckMessage]]) -> None:
    """Register ``function`` as a startup check (from an AppConfig's ``ready``)."""
    checks.register(function, TAG, deploy=True)


def check_secret_key(**kwargs: object) -> list[checks.CheckMessage]:
    """Django's secret key signs sessions, CSRF tokens and passwords resets, and keys the session encryption: one
    given in ``ANCHORID_SECRET_KEY`` must be a real secret (Django's own rule for security.W009: at least 50
    characters, 5 different). Without the variable, one is generated into the data folder on the first run."""
    from anchorid.common import config

    configured = config.SECRET_KEY.value()
    if configured is not None and (len(configured) < 50 or len(set(configured)) < 5):
        return [
            checks.Error(
                "ANCHORID_SECRET_KEY is set but is not a real secret (fewer than 50 characters or 5 different ones)",
                hint="Set ANCHORID_SECRET_KEY=\"$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')\", "
                "or unset it to have one generated into the data folder (file secret_key, 0600).",
                id="anchorid.E001",
            )
        ]
    return []


#: The shortest ``ANCHORID_METRICS_TOKEN`` accepted.
METRICS_TOKEN_MIN_LENGTH = 32


def check_metrics_token(**kwargs: object) -> list[checks.CheckMessage]:
    """A bearer token for ``/metrics`` (``ANCHORID_METRICS_TOKEN``) must be hard to guess: at least 32 characters."""
    configured = config.METRICS_TOKEN.raw()
    if configured and (len(configured) < METRICS_TOKEN_MIN_LENGTH or len(set(configured)) < 5):
        return [
            checks.Error(
                "ANCHORID_METRICS_TOKEN is set but is not a real secret (fewer than 32 characters or 5 different ones)",
                hint="Set ANCHORID_METRICS_TOKEN=\"$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')\" "
                "and give the same token to Prometheus (authorization: credentials), or unset it to allow scrapes "
                "from loopback only.",
                id="anchorid.E020",
            )
        ]
    return []


def check_log_format(**kwargs: object) -> list[checks.CheckMessage]:
    """``ANCHORID_LOG_FORMAT`` is ``plain`` or ``json``; anything else is a typo the operator should hear about."""
    from anchorid.common.log_format import FORMATS

    configured = str(config.LOG_FORMAT.raw() or "").strip().lower()
    if configured and configured not in FORMATS:
        return [
            checks.Error(
                f"ANCHORID_LOG_FORMAT is {configured!r}; it must be one of: {', '.join(FORMATS)}",
                hint="Set ANCHORID_LOG_FORMAT=json for one JSON object per line, or unset it for plain text.",
                id="anchorid.E021",
            )
        ]
    return []


def problems(*, deploy: bool = False) -> tuple[list[checks.CheckMessage], list[checks.CheckMessage]]:
    """The startup checks' (errors, warnings) for the party whose settings are loaded; with ``deploy``, also the
    production checks (``anchorid.common.deploy_checks``)."""
    from anchorid.common.deploy_checks import TAG as DEPLOY_TAG

    tags = [TAG, DEPLOY_TAG] if deploy else [TAG]
    found = checks.run_checks(tags=tags, include_deployment_checks=True)
    errors = [message for message in found if message.level >= checks.ERROR]
    warnings = [message for message in found if checks.WARNING <= message.level < checks.ERROR]
    return errors, warnings


def line(message: checks.CheckMessage) -> str:
    text = f"  [{message.id}] {message.msg}"
    if message.hint:
        text += f"\n      {message.hint}"
    return text


def refuse_to_start_unless_ready(party: str) -> None:
    """Exit (status 2) naming every missing or unusable setting; print warnings and go on otherwise. With
    ``ANCHORID_ENV=production``, the production checks (``anchorid check PARTY --deploy``) run too."""
    from anchorid.common import config

    errors, warnings = problems(deploy=config.is_production())
    for warning in warnings:
        print(f"anchorid serve {party}: warning:\n{line(warning)}", file=sys.stderr)
    if errors:
        lines = "\n".join(line(error) for error in errors)
        raise SystemExit(f"anchorid serve {party}: cannot start; fix these settings first:\n{lines}")
