from django.apps import AppConfig


class CityConfig(AppConfig):
    name = "anchorid.city"
    label = "city"
    verbose_name = "City services"

    def ready(self) -> None:
        from anchorid.city.startup_checks import register_all

        register_all()  # what anchorid serve city refuses to start without
