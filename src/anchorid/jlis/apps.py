from django.apps import AppConfig


class JlisConfig(AppConfig):
    name = "anchorid.jlis"
    label = "jlis"
    verbose_name = "J-LIS (simulated)"
