"""WSGI entry point of the ID platform.

The OpenID Provider's JSON endpoints (token, PAR, userinfo, introspection, revocation, JWKS, metadata) are answered
before Django's middleware stack (``anchorid.idp.oidc.fastpath``): they authenticate clients, not cookies, and the
session, CSRF, locale and messages middleware would cost more than their own work. Everything else goes to Django.
"""

import os
from collections.abc import Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anchorid.idp.settings")
django_application = get_wsgi_application()

from anchorid.idp.oidc import fastpath  # noqa: E402  (needs Django set up)


def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    if fastpath.handles(environ.get("PATH_INFO", "")):
        return fastpath.application(environ, start_response)
    return django_application(environ, start_response)
