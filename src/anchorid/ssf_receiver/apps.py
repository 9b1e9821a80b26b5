from django.apps import AppConfig


class SsfReceiverConfig(AppConfig):
    name = "anchorid.ssf_receiver"
    label = "ssf_receiver"
    verbose_name = "Shared Signals receiver"
