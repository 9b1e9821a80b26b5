"""URLs of the sample providers: each under its own path."""

from django.urls import include, path

from anchorid.common import health
from anchorid.providersim import health_views, views

provider_patterns = [
    path("", views.home, name="providersim_home"),
    path("signup/", views.signup, name="providersim_signup"),
    path("callback/", views.callback, name="providersim_callback"),
    path("logout/", views.logout, name="providersim_logout"),
    path("ssf/events", views.events, name="providersim_events"),
    path(".well-known/jwks.json", views.jwks, name="providersim_jwks"),
]

health_patterns = [
    path("", health_views.home, name="providersim_health_home"),
    path("login/", health_views.login, name="providersim_health_login"),
    path("callback/", health_views.callback, name="providersim_health_callback"),
    path("logout/", health_views.logout, name="providersim_health_logout"),
    path("walk/", health_views.walk, name="providersim_health_walk"),
    path("link/", health_views.link, name="providersim_health_link"),
    path("award/", health_views.award, name="providersim_health_award"),
]

urlpatterns = [
    *health.urls("providers"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", views.index, name="providersim_index"),
    path("health/", include(health_patterns)),  # the health points app: its own pages (its keys: below)
    path("<slug:slug>/", include(provider_patterns)),
]
