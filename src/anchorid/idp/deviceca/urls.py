"""URLs of the device CA, included at the idp's root (``/wallet/…``, ``/login/wallet…``, ``/pki/…``)."""

from django.urls import path, re_path

from anchorid.idp.deviceca import views

urlpatterns = [
    path("wallet/challenge", views.enroll_challenge_view, name="wallet_enroll_challenge"),
    path("wallet/enroll", views.enroll_view, name="wallet_enroll"),
    path("login/wallet/challenge", views.login_challenge_view, name="login_wallet_challenge"),
    path("login/wallet", views.wallet_login_view, name="login_wallet"),
    path("pki/root.cer", views.root_certificate_view, name="pki_root_certificate"),
    path("pki/issuing.cer", views.issuing_certificate_view, name="pki_issuing_certificate"),
    path("pki/ocsp.cer", views.responder_certificate_view, name="pki_responder_certificate"),
    path("pki/root.crl", views.root_crl_view, name="pki_root_crl"),
    path("pki/issuing.crl", views.issuing_crl_view, name="pki_issuing_crl"),
    path("pki/ocsp", views.ocsp_view, name="pki_ocsp"),
    re_path(r"^pki/ocsp/(?P<encoded>.+)$", views.ocsp_view, name="pki_ocsp_get"),
]
