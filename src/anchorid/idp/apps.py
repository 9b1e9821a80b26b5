from django.apps import AppConfig


class IdpConfig(AppConfig):
    name = "anchorid.idp"
    label = "idp"
    verbose_name = "ID platform"

    def ready(self) -> None:
        from anchorid.idp.startup_checks import register_all

        register_all()  # what anchorid serve idp refuses to start without
