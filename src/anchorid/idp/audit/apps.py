from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "anchorid.idp.audit"
    label = "audit"
    verbose_name = "Audit log (信頼ある記録)"
