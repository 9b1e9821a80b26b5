"""URLs of the participation platform."""

from django.contrib import admin
from django.urls import include, path

from anchorid.common import health
from anchorid.common.rp import views as rp_views
from anchorid.participation import api as participation_api
from anchorid.participation import staff, views

urlpatterns = [
    *health.urls("participation"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", views.home, name="participation_home"),
    path("processes/<slug:slug>/", views.process_page, name="participation_process"),
    path("processes/<slug:slug>/propose/", views.propose, name="participation_propose"),
    path("processes/<slug:slug>/debates/", views.start_debate, name="participation_start_debate"),
    path("processes/<slug:slug>/vote/", views.vote, name="participation_vote"),
    path("processes/<slug:slug>/receipt/", views.receipt, name="participation_receipt"),
    path("processes/<slug:slug>/results/", views.results, name="participation_results"),
    path("processes/<slug:slug>/ballots.json", views.ballots_json, name="participation_ballots"),
    path("processes/<slug:slug>/open-data.<str:fmt>", views.open_data, name="participation_open_data"),
    path("proposals/<int:pk>/", views.proposal_page, name="participation_proposal"),
    path("proposals/<int:pk>/support/", views.support, name="participation_support"),
    path("proposals/<int:pk>/comment/", views.comment_on_proposal, name="participation_comment"),
    path("proposals/<int:pk>/edit/", views.edit_proposal, name="participation_edit"),
    path("proposals/<int:pk>/withdraw/", views.withdraw, name="participation_withdraw"),
    path("proposals/<int:pk>/report/", views.report, name="participation_report"),
    path("comments/<int:pk>/vote/", views.vote_comment, name="participation_comment_vote"),
    path("debates/<int:pk>/", views.debate_page, name="participation_debate"),
    path("meetings/<int:pk>/", views.meeting_page, name="participation_meeting"),
    path("meetings/<int:pk>/register/", views.meeting_register, name="participation_meeting_register"),
    path("surveys/<int:pk>/", views.survey_page, name="participation_survey"),
    path("surveys/<int:pk>/results/", views.survey_results, name="participation_survey_results"),
    path("search/", views.search, name="participation_search"),
    path("notifications/", views.notifications, name="participation_notifications"),
    path("notifications/email/", views.email_address, name="participation_email"),
    path("notifications/email/verify/<str:token>/", views.email_verify, name="participation_email_verify"),
    path("tally-keys.json", views.tally_keys, name="participation_tally_keys"),
    path("staff/", include(staff.urlpatterns)),
    path("login/", views.login, name="participation_login"),
    path("callback/", views.callback, name="participation_callback"),
    path("logout/", views.logout, name="participation_logout"),
    path("logged-out/", views.logged_out, name="participation_logged_out"),
    path(".well-known/jwks.json", rp_views.jwks, name="participation_jwks"),
    path("api/v1/status", participation_api.status_view, name="participation_api_status"),
]
