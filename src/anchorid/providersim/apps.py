from django.apps import AppConfig


class ProviderSimConfig(AppConfig):
    name = "anchorid.providersim"
    label = "providersim"
    verbose_name = "Sample providers"

    def ready(self) -> None:
        from anchorid.providersim.startup_checks import register_all

        register_all()  # what anchorid serve providers refuses to start without
