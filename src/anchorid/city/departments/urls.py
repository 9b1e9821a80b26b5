"""URLs of the city's departments (included by the city's URLconf)."""

from django.urls import path

from anchorid.city.departments import views

urlpatterns = [
    path("ssf/events", views.events, name="departments_events"),
    path("departments/", views.my_records, name="departments_records"),
]
