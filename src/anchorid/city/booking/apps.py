from django.apps import AppConfig


class BookingConfig(AppConfig):
    name = "anchorid.city.booking"
    label = "booking"
    verbose_name = "Facility booking"
    default_auto_field = "django.db.models.BigAutoField"
