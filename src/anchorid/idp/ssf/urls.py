"""URLs of the Shared Signals transmitter and the resident's "I moved" page."""

from django.urls import path

from anchorid.idp.ssf import moving, views

app_name = "ssf"

urlpatterns = [
    path(".well-known/ssf-configuration", views.ssf_configuration, name="configuration"),
    path("ssf/streams", views.streams_view, name="streams"),
    path("ssf/status", views.status_view, name="status"),
    path("ssf/subjects:add", views.add_subject_view, name="add-subject"),
    path("ssf/subjects:remove", views.remove_subject_view, name="remove-subject"),
    path("ssf/verify", views.verify_view, name="verify"),
    path("ssf/poll", views.poll_view, name="poll"),
    path("me/moving/", moving.moving_view, name="moving"),
]
