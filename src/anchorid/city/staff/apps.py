from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "anchorid.city.staff"
    label = "staff"
    verbose_name = "City staff and counter"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from anchorid.city.staff import counter_payment

        counter_payment.register()  # the "counter" payment provider (cash or card at the counter)
