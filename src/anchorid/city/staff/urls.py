"""URLs of the staff pages, included by the city under ``staff/``."""

from django.urls import path

from anchorid.city.staff import counter_payment_views, views

urlpatterns = [
    path("", views.home, name="staff_home"),
    path("login/", views.StaffLoginView.as_view(), name="staff_login"),
    path("logout/", views.StaffLogoutView.as_view(), name="staff_logout"),
    path("facilities/", views.facilities, name="staff_facilities"),
    path("facilities/new/", views.facility_edit, name="staff_facility_new"),
    path("facilities/<int:facility_id>/", views.facility_edit, name="staff_facility_edit"),
    path("facilities/<int:facility_id>/slots/", views.slots, name="staff_slots"),
    path("slots/<int:slot_id>/fee/", views.slot_fee, name="staff_slot_fee"),
    path("fees/", views.fees, name="staff_fees"),
    path("lottery/", views.rounds, name="staff_rounds"),
    path("lottery/new/", views.round_new, name="staff_round_new"),
    path("lottery/<int:round_id>/", views.round_detail, name="staff_round"),
    path("lottery/<int:round_id>/<str:step>/", views.round_step, name="staff_round_step"),
    path("bookings/", views.bookings, name="staff_bookings"),
    path("bookings/<str:reference>/<str:outcome>/", views.booking_mark, name="staff_booking_mark"),
    path("reports/", views.report, name="staff_reports"),
    path("counter/", views.counter_home, name="staff_counter"),
    path("counter/<int:user_id>/", views.counter_resident, name="staff_counter_resident"),
    path("counter/<int:user_id>/link-code/", views.counter_link_code, name="staff_counter_link_code"),
    path("counter/<int:user_id>/book/", views.counter_book, name="staff_counter_book"),
    path("counter/<int:user_id>/enter/", views.counter_enter, name="staff_counter_enter"),
    path("counter/<int:user_id>/bookings/<str:reference>/cancel/", views.counter_cancel, name="staff_counter_cancel"),
    path("counter/<int:user_id>/entries/<str:public_id>/confirm/", views.counter_confirm, name="staff_counter_confirm"),
    path("counter/<int:user_id>/bookings/<str:reference>/pay/", counter_payment_views.pay, name="staff_counter_pay"),
    path("counter/<int:user_id>/receipts/<str:number>/", counter_payment_views.receipt, name="staff_counter_receipt"),
    path("counter/<int:user_id>/payouts/<str:payout_ref>/", counter_payment_views.pay_out, name="staff_counter_payout"),
]
