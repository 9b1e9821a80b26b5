from django.apps import AppConfig


class AdoptionConfig(AppConfig):
    name = "anchorid.city.adoption"
    label = "city_adoption"
    verbose_name = "Adoption dashboard"
