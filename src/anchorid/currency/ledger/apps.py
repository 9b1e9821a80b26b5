from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "anchorid.currency.ledger"
    label = "currency_ledger"
    verbose_name = "Currency ledger"
    default_auto_field = "django.db.models.BigAutoField"
