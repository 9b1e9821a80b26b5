from django.apps import AppConfig


class CityConfig(AppConfig):
    name = "anchorid.city"
    label = "city"
    verbose_name = "City services"
