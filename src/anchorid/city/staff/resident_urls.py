"""The resident-facing counter URL, included by the city under ``counter/``."""

from django.urls import path

from anchorid.city.staff import link_views

urlpatterns = [path("link/", link_views.link, name="counter_link")]
