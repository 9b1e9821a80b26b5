from django.apps import AppConfig


class AdoptionConfig(AppConfig):
    name = "anchorid.idp.adoption"
    label = "adoption"
    verbose_name = "Adoption statistics"
