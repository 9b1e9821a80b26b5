"""URLs of the ID platform."""

from django.contrib import admin
from django.urls import include, path

from anchorid.common import health

urlpatterns = [
    *health.urls("idp"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("anchorid.idp.login.urls")),
    path("", include("anchorid.idp.passkeys.urls")),
    path("", include("anchorid.idp.selfservice.urls")),
    path("onboarding/", include("anchorid.idp.onboarding.urls")),
    path("", include("anchorid.idp.deviceca.urls")),
    path("", include("anchorid.idp.oidc.urls")),
    path("", include("anchorid.idp.tsa.urls")),
    path("", include("anchorid.idp.signing.urls")),
    path("", include("anchorid.idp.lifecycle.urls")),
    path("", include("anchorid.idp.ssf.urls")),
    path("", include("anchorid.idp.adoption.urls")),
    path("", include("anchorid.idp.guardians.urls")),
    path("", include("anchorid.idp.links.urls")),
]
