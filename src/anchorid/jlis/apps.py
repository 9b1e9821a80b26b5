"""The simulated national infrastructure (J-LIS and the city counter): its own Django server and database."""

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_authorities(sender: AppConfig, **kwargs: Any) -> None:
    """On first start (``anchorid serve jlis`` migrates first) the data folder gets its two CAs."""
    from anchorid.jlis.authority import ensure_authorities

    ensure_authorities()


class JlisConfig(AppConfig):
    name = "anchorid.jlis"
    label = "jlis"
    verbose_name = "J-LIS (simulated)"

    def ready(self) -> None:
        from anchorid.jlis.startup_checks import register_all

        register_all()  # what anchorid serve jlis refuses to start without
        post_migrate.connect(_create_authorities, sender=self, dispatch_uid="anchorid.jlis.create_authorities")
        from django.db.models.signals import post_delete, post_save

        from anchorid.jlis.authority import clear_cache
        from anchorid.jlis.models import CertificateAuthority

        def _forget(**kwargs: Any) -> None:
            # Only a new or deleted CA changes what the process cache holds (CRL updates do not).
            if kwargs.get("created", True):
                clear_cache()

        post_save.connect(_forget, sender=CertificateAuthority, weak=False, dispatch_uid="jlis.ca.saved")
        post_delete.connect(_forget, sender=CertificateAuthority, weak=False, dispatch_uid="jlis.ca.deleted")
