"""WSGI entry point of the sample providers."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anchorid.providersim.settings")
application = get_wsgi_application()
