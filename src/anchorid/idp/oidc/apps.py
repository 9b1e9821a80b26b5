from django.apps import AppConfig


class OidcConfig(AppConfig):
    name = "anchorid.idp.oidc"
    label = "oidc"
    verbose_name = "OpenID Provider"

    def ready(self) -> None:
        from anchorid.idp.oidc import clients

        clients.connect_cache_invalidation()
