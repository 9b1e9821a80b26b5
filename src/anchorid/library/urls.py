"""URLs of the e-library."""

from django.contrib import admin
from django.urls import include, path, register_converter

from anchorid.common import health
from anchorid.common.rp import views as rp_views
from anchorid.library import api as library_api
from anchorid.library import rp, staff, views


class SignatureConverter:
    regex = "[0-9a-f]{40}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(SignatureConverter, "sig")

urlpatterns = [
    *health.urls("library"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", views.home, name="library_home"),
    path("login/", views.login, name="library_login"),
    path("callback/", views.callback, name="library_callback"),
    path("register/code/", views.register_with_code, name="library_register_code"),
    path("logout/", views.logout, name="library_logout"),
    path("logged-out/", views.logged_out, name="library_logged_out"),
    path(
        "backchannel-logout/",
        rp_views.backchannel_logout(lambda token: rp.client().verify_logout_token(token)),
        name="library_backchannel_logout",
    ),
    path(".well-known/jwks.json", rp_views.jwks, name="library_jwks"),
    path("me/card/", views.link_card, name="library_link_card"),
    path("me/email/", views.set_email, name="library_set_email"),
    path("search/", views.search, name="library_search"),
    path("browse/<str:ndc>/", views.browse, name="library_browse"),
    path("titles/<int:title_id>/", views.title_detail, name="library_title"),
    path("titles/<int:title_id>/cover", views.cover, name="library_cover"),
    path("titles/<int:title_id>/borrow/", views.borrow, name="library_borrow"),
    path("titles/<int:title_id>/hold/", views.hold, name="library_hold"),
    path("holds/<int:hold_id>/cancel/", views.cancel_hold, name="library_cancel_hold"),
    path("loans/<int:loan_id>/return/", views.return_loan, name="library_return"),
    path("loans/<int:loan_id>/renew/", views.renew, name="library_renew"),
    path("loans/<int:loan_id>/read/", views.read, name="library_read"),
    path("api/loans/<int:loan_id>/grant", views.reader_grant, name="library_reader_grant"),
    path("api/loans/<int:loan_id>/state", views.reading_state, name="library_reading_state"),
    path("content/<int:loan_id>/<int:expires>/<sig:sig>/<path:name>", views.content_resource, name="library_content"),
    path("staff/", include(staff.urls)),
    path("api/v1/status", library_api.status_view, name="library_api_status"),
]
