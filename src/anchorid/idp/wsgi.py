"""WSGI entry point of the ID platform.

The OpenID Provider's JSON endpoints (token, PAR, userinfo, introspection, revocation, JWKS, metadata) are answered
before Django's middleware stack (``anchorid.idp.oidc.fastpath``): they authenticate clients, not cookies, and the
session, CSRF, locale and messages middleware would cost more than their own work. Everything else goes to Django.
"""

import os
from collections.abc import Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anchorid.idp.settings")
django_application = get_wsgi_application()
# Import every view now, while the worker starts, not inside the first resident's request: the URLconf pulls in the
# whole idp (the device CA, pyHanko, ...), 0.25 s of CPU with bytecode cached and over 1 s without, which the first
# authorization request of each worker used to pay (and everything queued behind it; docs/performance.md).
get_resolver().url_patterns  # noqa: B018  (the import is the point)

from anchorid.common.observed_wsgi import ROUTE_KEY, observe  # noqa: E402  (needs Django set up)
from anchorid.idp.oidc import fastpath  # noqa: E402


def dispatch(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    if fastpath.handles(path):
        environ[ROUTE_KEY] = path  # one of a fixed set of paths: its own route label
        return fastpath.application(environ, start_response)
    return django_application(environ, start_response)


# A request id, metrics per endpoint, an access line and /metrics (docs/observability.md).
application = observe(dispatch)
