from django.apps import AppConfig


class DepartmentsConfig(AppConfig):
    name = "anchorid.city.departments"
    label = "city_departments"
    verbose_name = "City departments"
