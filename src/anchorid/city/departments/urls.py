"""URLs of the city's departments (included by the city's URLconf under ``departments/``)."""

from django.urls import path

from anchorid.city.departments import views

urlpatterns = [
    path("", views.my_records, name="departments_records"),
    path("connect/", views.connect, name="departments_connect"),
    path("callback/", views.callback, name="departments_callback"),
    path("ssf/events", views.events, name="departments_events"),
]
