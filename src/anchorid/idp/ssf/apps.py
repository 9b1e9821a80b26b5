from django.apps import AppConfig


class SsfConfig(AppConfig):
    name = "anchorid.idp.ssf"
    label = "ssf"
    verbose_name = "Shared Signals transmitter"
