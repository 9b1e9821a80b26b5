from django.urls import path

from anchorid.idp.lifecycle import views

urlpatterns = [
    path("me/notices/<int:notice_id>/read/", views.notice_read, name="lifecycle_notice_read"),
    path("me/notices/email/", views.contact_email, name="lifecycle_contact_email"),
    path("me/notices/email/confirm/<str:token>/", views.contact_email_confirm, name="lifecycle_contact_confirm"),
    path("me/refresh-consent/", views.refresh_consent_page, name="lifecycle_refresh_consent"),
    path("me/refresh-consent/complete/", views.refresh_consent_complete, name="lifecycle_refresh_consent_complete"),
    path("me/refresh-consent/withdraw/", views.refresh_consent_withdraw, name="lifecycle_refresh_consent_withdraw"),
]
