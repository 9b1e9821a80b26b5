from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Templates and static files every party's pages share (base layout, design tokens), the rate-limit counters,
    and the lockout of Django admin's password login."""

    name = "anchorid.common"
    label = "anchorid_common"
    verbose_name = "AnchorID common"

    def ready(self) -> None:
        from django.contrib import admin

        from anchorid.common import deploy_checks
        from anchorid.common.password_lockout import protect_admin_site
        from anchorid.common.startup import check_log_format, check_metrics_token, check_secret_key, register

        protect_admin_site(admin.site)
        register(check_secret_key)
        register(check_metrics_token)
        register(check_log_format)
        deploy_checks.register_all()  # anchorid check PARTY --deploy; serve when ANCHORID_ENV=production
