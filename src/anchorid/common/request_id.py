"""The request id: one opaque string per request, carried from party to party in ``X-Request-ID``.

A server takes the id from an incoming ``X-Request-ID`` header when it is well-formed (8–128 characters of
``A–Z a–z 0–9 . _ : + = / -``, starting with a letter or digit: no spaces, quotes or line breaks that could forge a
log line), or makes a new one (32 hex digits); it answers with it in its own ``X-Request-ID`` header
(``anchorid.common.observed_wsgi``). While the request runs, the id sits in a context variable: every log line
carries it (``anchorid.common.log_format``) and every call this party makes to another one sends it on
(:func:`outgoing_headers`: the idp's calls to jlis, its Security Event Tokens and back-channel logouts, the relying
parties' calls to the idp). Background work binds a fresh id per unit of work (a job run, a SET delivered), so its
log lines and the receiver's log lines meet too.

No Django here: the card library (``anchorid.jpki``) sends the id with its OCSP requests.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

HEADER = "X-Request-ID"
#: The WSGI environ key of the incoming header.
ENVIRON_KEY = "HTTP_X_REQUEST_ID"
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{7,127}")

_current: ContextVar[str | None] = ContextVar("anchorid_request_id", default=None)


def new() -> str:
    return secrets.token_hex(16)


def well_formed(value: str | None) -> bool:
    return value is not None and _WELL_FORMED.fullmatch(value) is not None


def accept(incoming: str | None) -> str:
    """The incoming id when it is well-formed, else a new one."""
    return incoming if incoming is not None and well_formed(incoming) else new()


def current() -> str | None:
    return _current.get()


def bind(value: str) -> Token[str | None]:
    return _current.set(value)


def unbind(token: Token[str | None]) -> None:
    _current.reset(token)


@contextmanager
def bound(value: str | None = None) -> Iterator[str]:
    """Run a block under ``value`` (default: a fresh id), e.g. one background job run or one SET delivery."""
    value = value or new()
    token = bind(value)
    try:
        yield value
    finally:
        unbind(token)


def outgoing_headers() -> dict[str, str]:
    """``{"X-Request-ID": id}`` for a call to another party made while a request (or unit of work) runs."""
    value = _current.get()
    return {HEADER: value} if value else {}
