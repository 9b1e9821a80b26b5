"""Log lines: plain text for a terminal (the default), or one JSON object per line (``ANCHORID_LOG_FORMAT=json``).

Every record gets the party (``jlis``, ``idp``, ``city``, ``providers``) and the request id of the request or unit
of background work it was written under (``anchorid.common.request_id``; ``-`` outside one) from
:class:`RequestContextFilter`, attached to the console handler. The JSON form has the fields ``time`` (UTC, ISO
8601 with milliseconds), ``level``, ``logger``, ``message``, ``party``, ``request_id``, ``exception`` (a traceback,
when there is one) and the *safe extra fields*: only the names in :data:`SAFE_EXTRA_FIELDS`, passed by our own code
with ``extra=`` (the access log's method, route pattern, status and duration). Anything else a caller passes in
``extra`` is left out, so a careless ``extra={"token": ...}`` never reaches the log. Messages themselves never name
a PIN, a key, a token or a resident's attribute: tests/idp/test_observability_logs.py scans an onboarding's and a
login's log lines for them.

No Django here: the settings modules build ``LOGGING`` with :func:`logging_config`.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

from anchorid.common import request_id

FORMATS = ("plain", "json")
PLAIN = "%(asctime)s %(levelname)s %(party)s %(name)s [%(request_id)s] %(message)s"
#: Extra fields a JSON line may carry besides the fixed ones (values are numbers or short strings).
SAFE_EXTRA_FIELDS = ("method", "route", "status", "duration_ms", "job", "outcome", "reason", "attempts")
_PARTIES = {"providersim": "providers"}


def party_of(settings_module: str | None) -> str:
    """``anchorid.idp.settings`` → ``idp``; ``-`` for anything else."""
    parts = (settings_module or "").split(".")
    if len(parts) == 3 and parts[0] == "anchorid" and parts[2] == "settings":
        return _PARTIES.get(parts[1], parts[1])
    return "-"


class RequestContextFilter(logging.Filter):
    """Adds ``party`` and ``request_id`` to every record (never drops one)."""

    def __init__(self, party: str | None = None) -> None:
        super().__init__()
        self.party = party or party_of(os.environ.get("DJANGO_SETTINGS_MODULE"))

    def filter(self, record: logging.LogRecord) -> bool:
        record.party = self.party
        record.request_id = request_id.current() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; see the module's docstring for the fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "party": getattr(record, "party", "-"),
            "request_id": getattr(record, "request_id", None) or request_id.current() or "-",
        }
        for name in SAFE_EXTRA_FIELDS:
            value = getattr(record, name, None)
            if isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 200):
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def log_format() -> str:
    """``ANCHORID_LOG_FORMAT``: ``plain`` (default) or ``json``. Another value is read as ``plain`` here, and
    ``anchorid serve`` refuses to start with it (``anchorid.common.startup.check_log_format``)."""
    from anchorid.common import config

    value = str(config.LOG_FORMAT.value()).strip().lower() or "plain"
    return value if value in FORMATS else "plain"


def logging_config(format_name: str, level: str) -> dict[str, Any]:
    """Django's ``LOGGING``: one console handler (stderr) in the chosen format, with the request context."""
    formatters: dict[str, Any] = {
        "plain": {"format": PLAIN},
        "json": {"()": "anchorid.common.log_format.JsonFormatter"},
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "anchorid.common.log_format.RequestContextFilter"}},
        "formatters": formatters,
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": format_name, "filters": ["context"]},
        },
        "root": {"handlers": ["console"], "level": level},
        # urllib3's DEBUG lines quote every URL called, and jlis's operator API has certificate serials in its paths
        "loggers": {"urllib3": {"level": "INFO"}},
    }
