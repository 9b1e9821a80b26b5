"""Onboarding URLs (included at ``/onboarding/`` by the idp's urls)."""

from django.urls import path

from anchorid.idp.onboarding import views

urlpatterns = [
    path("", views.start_view, name="onboarding"),
    path("complete/", views.complete_view, name="onboarding_complete"),
    path("status/", views.status_view, name="onboarding_status"),
    path("device/<str:code>/", views.device_view, name="onboarding_device"),
]
