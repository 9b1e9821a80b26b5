"""WSGI entry point of the local currency."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anchorid.currency.settings")
django_application = get_wsgi_application()

from anchorid.common.observed_wsgi import observe  # noqa: E402  (needs Django set up)

application = observe(django_application)
