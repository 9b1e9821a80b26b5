"""URLs of the lottery's public and resident pages, included by the city under ``lottery/``."""

from django.urls import path

from anchorid.city.lottery import views

urlpatterns = [
    path("", views.rounds, name="lottery_rounds"),
    path("<int:round_id>/", views.round_page, name="lottery_round"),
    path("<int:round_id>/audit.json", views.audit_json, name="lottery_audit"),
    path("<int:round_id>/enter/", views.enter, name="lottery_enter"),
    path("entries/<str:public_id>/withdraw/", views.withdraw, name="lottery_withdraw"),
    path("entries/<str:public_id>/confirm/", views.confirm, name="lottery_confirm"),
]
