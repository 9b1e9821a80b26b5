"""URLs of facility booking, included by the city under ``booking/``."""

from django.urls import path

from anchorid.city.booking import views

urlpatterns = [
    path("", views.facilities, name="booking_facilities"),
    path("facilities/<int:facility_id>/", views.facility, name="booking_facility"),
    path("book/", views.book, name="booking_book"),
    path("groups/", views.groups, name="booking_groups"),
    path("groups/<int:group_id>/", views.group, name="booking_group"),
    path("bookings/<str:reference>/", views.detail, name="booking_detail"),
    path("bookings/<str:reference>/pay/", views.pay, name="booking_pay"),
    path("bookings/<str:reference>/paid/", views.payment_return, name="booking_payment_return"),
    path("bookings/<str:reference>/cancel/", views.cancel, name="booking_cancel"),
    path("receipts/<str:number>/", views.receipt, name="booking_receipt"),
    path("payments/<str:provider_name>/callback/", views.payment_webhook, name="booking_payment_webhook"),
    path("simulated-provider/<str:provider_ref>/", views.simulated_provider_page, name="booking_simulated_provider"),
]
