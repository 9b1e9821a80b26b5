from django.apps import AppConfig


class IdpConfig(AppConfig):
    name = "anchorid.idp"
    label = "idp"
    verbose_name = "ID platform"
