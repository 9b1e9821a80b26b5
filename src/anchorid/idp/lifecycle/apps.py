from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "anchorid.idp.lifecycle"
    label = "lifecycle"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from anchorid.idp import sessions
        from anchorid.idp.lifecycle import jit

        sessions.register_login_check(jit.check_at_login)
