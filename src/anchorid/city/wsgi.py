"""WSGI entry point of the city's resident services."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anchorid.city.settings")
application = get_wsgi_application()
