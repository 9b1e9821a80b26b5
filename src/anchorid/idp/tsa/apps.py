from django.apps import AppConfig


class TsaConfig(AppConfig):
    name = "anchorid.idp.tsa"
    label = "tsa"
    verbose_name = "Time-stamp authority"
