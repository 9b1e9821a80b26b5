"""Settings used only by mypy's django-stubs plugin: every party's apps and settings in one registry, so each
party's models and settings type-check. Never used to run a server (the parties keep separate databases).
The user model is the idp's; jlis code names ``django.contrib.auth.models.User`` explicitly."""

from anchorid.city.settings import INSTALLED_APPS as CITY_APPS
from anchorid.currency.settings import INSTALLED_APPS as CURRENCY_APPS
from anchorid.idp.settings import *  # noqa: F403
from anchorid.idp.settings import INSTALLED_APPS as IDP_APPS
from anchorid.jlis.settings import *  # noqa: F403
from anchorid.jlis.settings import INSTALLED_APPS as JLIS_APPS
from anchorid.library.settings import INSTALLED_APPS as LIBRARY_APPS
from anchorid.participation.settings import INSTALLED_APPS as PARTICIPATION_APPS
from anchorid.providersim.settings import INSTALLED_APPS as PROVIDERS_APPS

INSTALLED_APPS = list(
    dict.fromkeys(
        [*JLIS_APPS, *IDP_APPS, *CITY_APPS, *PROVIDERS_APPS, *PARTICIPATION_APPS, *CURRENCY_APPS, *LIBRARY_APPS]
    )
)
AUTH_USER_MODEL = "accounts.Account"
