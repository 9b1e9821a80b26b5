from django.apps import AppConfig


class ProviderSimConfig(AppConfig):
    name = "anchorid.providersim"
    label = "providersim"
    verbose_name = "Sample providers"
