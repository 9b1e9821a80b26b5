from django.apps import AppConfig


class LotteryConfig(AppConfig):
    name = "anchorid.city.lottery"
    label = "lottery"
    verbose_name = "Facility lottery"
    default_auto_field = "django.db.models.BigAutoField"
