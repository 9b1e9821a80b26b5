"""URLs of the city's resident services."""

from django.contrib import admin
from django.urls import include, path

from anchorid.city import login as anchorid_login
from anchorid.city import views
from anchorid.common import health
from anchorid.common.rp import views as rp_views

urlpatterns = [
    *health.urls("city"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", views.home, name="city_home"),
    path("booking/", include("anchorid.city.booking.urls")),
    path("lottery/", include("anchorid.city.lottery.urls")),
    path("staff/adoption/", include("anchorid.city.adoption.urls")),
    path("staff/", include("anchorid.city.staff.urls")),
    path("counter/", include("anchorid.city.staff.resident_urls")),
    path("login/", views.login, name="city_login"),
    path("callback/", views.callback, name="city_callback"),
    path("logout/", views.logout, name="city_logout"),
    path("logged-out/", views.logged_out, name="city_logged_out"),
    path(
        "backchannel-logout/",
        rp_views.backchannel_logout(anchorid_login.backchannel_logout),
        name="city_backchannel_logout",
    ),
    path(".well-known/jwks.json", rp_views.jwks, name="city_jwks"),
    path("departments/", include("anchorid.city.departments.urls")),
]
