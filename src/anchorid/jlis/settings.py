"""Django settings for the simulated J-LIS server (``anchorid serve jlis``)."""

from anchorid.common.settings_base import *  # noqa: F403
from anchorid.common.settings_base import (
    BASE_APPS,
    BASE_MIDDLEWARE,
    DATA_DIR,
    TEMPLATE_DEFAULTS,
    database_settings,
)

INSTALLED_APPS = [*BASE_APPS, "anchorid.jlis"]
MIDDLEWARE = list(BASE_MIDDLEWARE)
ROOT_URLCONF = "anchorid.jlis.urls"
WSGI_APPLICATION = "anchorid.jlis.wsgi.application"
TEMPLATES = TEMPLATE_DEFAULTS
DATABASES = {"default": database_settings(DATA_DIR, "jlis")}
