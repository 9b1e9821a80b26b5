from django.urls import path

from anchorid.idp.adoption import views

app_name = "adoption"

urlpatterns = [path("adoption/v1/counts", views.counts_view, name="counts")]
