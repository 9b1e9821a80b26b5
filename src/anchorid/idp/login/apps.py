from django.apps import AppConfig


class LoginConfig(AppConfig):
    name = "anchorid.idp.login"
    label = "login"
    verbose_name = "Login"
