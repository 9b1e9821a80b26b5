from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "anchorid.city.staff"
    label = "staff"
    verbose_name = "City staff and counter"
    default_auto_field = "django.db.models.BigAutoField"
