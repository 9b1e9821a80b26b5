from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "anchorid.idp.accounts"
    label = "accounts"
    verbose_name = "Accounts"
