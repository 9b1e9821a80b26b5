from django.apps import AppConfig


class SigningConfig(AppConfig):
    name = "anchorid.idp.signing"
    label = "signing"
    verbose_name = "Document signing"
