"""WSGI entry point of the ID platform."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anchorid.idp.settings")
application = get_wsgi_application()
