from django.urls import path, re_path

from anchorid.idp.tsa import views

urlpatterns = [
    path("tsa", views.tsa_view, name="tsa"),
    re_path(r"^pki/tsa/(?P<serial>[0-9a-f]{1,40})\.crl$", views.tsa_crl_view, name="pki_tsa_crl"),
]
