"""URLs of the simulated J-LIS server.

- ``/ocsp/sign``, ``/ocsp/auth`` (POST) and ``/ocsp/<kind>/<base64>`` (GET): OCSP, RFC 6960
- ``/crl/sign.crl``, ``/crl/auth.crl``: DER CRLs
- ``/ca/sign.cer``, ``/ca/auth.cer``; ``/ca/sign-ocsp.cer``, ``/ca/auth-ocsp.cer``: CA and responder certificates
- ``/api/operator/v1/...``: the platform-operator API (signed requests)
- ``/admin/``: staff pages (the register and life events)
"""

from django.contrib import admin
from django.urls import path, re_path

from anchorid.common import health
from anchorid.jlis import views

urlpatterns = [
    *health.urls("jlis"),
    re_path(r"^ocsp/(?P<rest>.*)$", views.ocsp_view, name="ocsp"),
    path("crl/<str:kind>.crl", views.crl_view, name="crl"),
    path("ca/<str:kind>-ocsp.cer", views.responder_certificate_view, name="responder-certificate"),
    path("ca/<str:kind>.cer", views.ca_certificate_view, name="ca-certificate"),
    path("api/operator/v1/consents", views.lodge_consent_view, name="lodge-consent"),
    path("api/operator/v1/guardianships", views.guardianship_view, name="guardianship"),
    path("api/operator/v1/consents/<int:consent_id>", views.withdraw_consent_view, name="withdraw-consent"),
    path(
        "api/operator/v1/certificates/<str:kind>/<str:serial>/attributes",
        views.attributes_view,
        name="certificate-attributes",
    ),
    path("api/operator/v1/certificates/<str:kind>/<str:serial>/links", views.links_view, name="certificate-links"),
    path("admin/", admin.site.urls),
]
