from django.apps import AppConfig


class LibraryConfig(AppConfig):
    name = "anchorid.library"
    label = "library"
    verbose_name = "E-library"

    def ready(self) -> None:
        from anchorid.library.startup_checks import register_all

        register_all()  # what anchorid serve library refuses to start without
