from django.apps import AppConfig


class DeviceCaConfig(AppConfig):
    name = "anchorid.idp.deviceca"
    label = "deviceca"
    verbose_name = "Device certificates"

    def ready(self) -> None:
        from anchorid.idp.deviceca.revocation import register_session_check

        register_session_check()
