from django.urls import path

from anchorid.idp.passkeys import views

urlpatterns = [
    path("passkeys/register/", views.register_page, name="passkey_register"),
    path("passkeys/register/options/", views.register_options, name="passkey_register_options"),
    path("passkeys/register/finish/", views.register_finish, name="passkey_register_finish"),
    path("login/passkey/", views.login_page, name="login_passkey"),
    path("login/passkey/options/", views.login_options, name="login_passkey_options"),
    path("login/passkey/finish/", views.login_finish, name="login_passkey_finish"),
]
