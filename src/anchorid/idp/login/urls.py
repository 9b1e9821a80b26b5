from django.urls import path

from anchorid.idp.login import views

urlpatterns = [
    path("login/", views.login_choice, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("login/card/", views.card_login_page, name="login_card"),
    path("login/card/complete/", views.card_login_complete, name="login_card_complete"),
    path("stop/card/", views.card_stop_page, name="card_stop"),
    path("stop/card/complete/", views.card_stop_complete, name="card_stop_complete"),
    path("resume/card/", views.card_resume_page, name="card_resume"),
    path("resume/card/complete/", views.card_resume_complete, name="card_resume_complete"),
]
