"""WSGI entry point of the simulated J-LIS server.

OCSP requests (``/ocsp/...``) are answered before Django's middleware stack: a responder's only work is one
indexed query and returning a pre-signed response (anchorid.jlis.ocsp), and the middleware would cost more
than that. Everything else goes to Django.
"""

import os
from collections.abc import Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anchorid.jlis.settings")
django_application = get_wsgi_application()

from anchorid.common.observed_wsgi import observe  # noqa: E402  (needs Django set up)
from anchorid.jlis import ocsp_http  # noqa: E402


def dispatch(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    if environ.get("PATH_INFO", "").startswith("/ocsp/"):
        return ocsp_http.wsgi(environ, start_response)
    return django_application(environ, start_response)


# A request id, metrics per endpoint, an access line and /metrics (docs/observability.md).
application = observe(dispatch)
