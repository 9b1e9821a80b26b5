from django.apps import AppConfig


class CurrencyConfig(AppConfig):
    name = "anchorid.currency"
    label = "currency"
    verbose_name = "Local currency"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from anchorid.currency.startup_checks import register_all

        register_all()
