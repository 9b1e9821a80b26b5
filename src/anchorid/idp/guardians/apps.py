from django.apps import AppConfig


class GuardiansConfig(AppConfig):
    name = "anchorid.idp.guardians"
    label = "guardians"
    verbose_name = "Children and guardians"
