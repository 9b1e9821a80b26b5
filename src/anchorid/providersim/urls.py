"""URLs of the sample providers: each under its own path."""

from django.urls import include, path

from anchorid.common import health
from anchorid.providersim import views

provider_patterns = [
    path("", views.home, name="providersim_home"),
    path("signup/", views.signup, name="providersim_signup"),
    path("callback/", views.callback, name="providersim_callback"),
    path("logout/", views.logout, name="providersim_logout"),
    path("ssf/events", views.events, name="providersim_events"),
    path(".well-known/jwks.json", views.jwks, name="providersim_jwks"),
]

urlpatterns = [
    *health.urls("providers"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", views.index, name="providersim_index"),
    path("<slug:slug>/", include(provider_patterns)),
]
