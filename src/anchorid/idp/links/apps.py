from django.apps import AppConfig


class LinksConfig(AppConfig):
    name = "anchorid.idp.links"
    label = "links"
    verbose_name = "Links between services (token exchange)"
