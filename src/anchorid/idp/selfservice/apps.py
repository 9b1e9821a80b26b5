from django.apps import AppConfig


class SelfServiceConfig(AppConfig):
    name = "anchorid.idp.selfservice"
    label = "selfservice"
    verbose_name = "Self-service"
