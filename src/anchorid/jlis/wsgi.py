"""WSGI entry point of the simulated J-LIS server."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anchorid.jlis.settings")
application = get_wsgi_application()
