from django.urls import path

from anchorid.idp.links import views

urlpatterns = [
    path("links/consent/", views.consent, name="link_consent"),
    path("me/links/", views.links_page, name="links"),
    path("me/links/<str:link_id>/withdraw/", views.withdraw, name="link_withdraw"),
    path("me/links/<str:link_id>/receipt/", views.receipt_download, name="link_receipt"),
]
