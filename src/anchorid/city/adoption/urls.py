"""Included by the city under ``staff/adoption/``."""

from django.urls import path

from anchorid.city.adoption import views

urlpatterns = [
    path("", views.dashboard, name="staff_adoption"),
    path("refresh/", views.refresh, name="staff_adoption_refresh"),
    path("charts/<str:name>.svg", views.chart, name="staff_adoption_chart"),
]
