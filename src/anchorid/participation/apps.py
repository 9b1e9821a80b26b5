from django.apps import AppConfig


class ParticipationConfig(AppConfig):
    name = "anchorid.participation"
    label = "participation"
    verbose_name = "Participation platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from anchorid.participation.startup_checks import register_all

        register_all()  # what anchorid serve participation refuses to start without
