from django.urls import path

from anchorid.idp.tsa import views

urlpatterns = [path("tsa", views.tsa_view, name="tsa")]
