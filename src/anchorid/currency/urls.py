"""URLs of the local currency."""

from django.urls import include, path

from anchorid.common import health
from anchorid.currency import views

urlpatterns = [
    *health.urls("currency"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", views.home, name="currency_home"),
]
