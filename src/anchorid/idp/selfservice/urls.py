from django.urls import path

from anchorid.idp.selfservice import views

urlpatterns = [
    path("", views.home, name="home"),
    path("me/", views.overview, name="selfservice"),
    path("me/activity/", views.activity, name="selfservice_activity"),
    path("me/credentials/<str:kind>/<str:credential_id>/revoke/", views.revoke_credential, name="credential_revoke"),
    path("me/credentials/<str:kind>/<str:credential_id>/stop/", views.suspend_credential, name="credential_suspend"),
    path("me/credentials/<str:kind>/<str:credential_id>/resume/", views.resume_credential, name="credential_resume"),
    path("me/delete/", views.delete_page, name="selfservice_delete"),
    path("me/delete/confirm/", views.delete_account, name="selfservice_delete_confirm"),
    path("stop/", views.emergency_stop, name="emergency_stop"),
    path("stop/account/", views.suspend_account, name="emergency_stop_account"),
]
