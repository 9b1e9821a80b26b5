from django.urls import path

from anchorid.idp.guardians import counter_views, views

urlpatterns = [
    path("me/children/", views.children, name="guardians_children"),
    path("me/children/add/", views.add_child, name="guardians_add"),
    path("me/children/add/card/", views.add_child_card, name="guardians_add_card"),
    path("me/children/add/guardian/", views.add_guardian, name="guardians_add_guardian"),
    path("me/children/add/guardian/complete/", views.add_guardian_complete, name="guardians_add_guardian_complete"),
    path("me/children/approvals/<int:approval_id>/", views.decide, name="guardians_decide"),
    path("me/children/<str:child_id>/stop/", views.stop, name="guardians_stop"),
    path("me/children/<str:child_id>/setup-link/", views.setup_link, name="guardians_setup_link"),
    path("me/children/add/counter/", counter_views.request_counter, name="guardians_request_counter"),
    path("staff/guardians/", counter_views.counter_page, name="guardians_counter"),
    path("children/setup/<str:token>/", views.child_setup, name="guardians_setup"),
    path("children/setup/<str:token>/complete/", views.child_setup_complete, name="guardians_setup_complete"),
]
