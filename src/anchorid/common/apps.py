from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Templates and static files every party's pages share (base layout, design tokens)."""

    name = "anchorid.common"
    label = "anchorid_common"
    verbose_name = "AnchorID common"

    def ready(self) -> None:
        from anchorid.common.startup import check_secret_key, register

        register(check_secret_key)
