"""WSGI entry point of the e-library."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anchorid.library.settings")
django_application = get_wsgi_application()

from anchorid.common.observed_wsgi import observe  # noqa: E402  (needs Django set up)

# A request id, metrics per endpoint, an access line and /metrics (docs/observability.md).
application = observe(django_application)
