from django.urls import path

from anchorid.idp.signing import portal as portal
from anchorid.idp.signing import views as views

urlpatterns = [
    path("signing/trust", views.trust_view, name="signing_trust"),
    path("signing/validation-data", views.validation_data_view, name="signing_validation_data"),
    path("signing/wallet-certificate", views.wallet_certificate_view, name="signing_wallet_certificate"),
    path("signing/api/verify", views.verify_api_view, name="signing_verify_api"),
    path("verify/", views.verify_page, name="signing_verify"),
    path("me/sign/", portal.sign_page, name="signing_portal"),
    path("me/sign/prepare/", portal.prepare_view, name="signing_prepare"),
    path("me/sign/<str:public_id>/prepared/", portal.prepared_view, name="signing_prepared"),
    path("me/sign/<str:public_id>/finish/", portal.finish_view, name="signing_finish"),
    path("me/sign/<str:public_id>/download/", portal.download_view, name="signing_download"),
    path("signing/approve/<str:code>", portal.approval_view, name="signing_approval"),
]
