"""What the idp stores about links between services (docs/protocols/token-exchange.md).

- ``LinkScope``: a scope a target service serves to linked sources, with the label residents read (ja/en).
- ``LinkOffer``: an operator-registered link source → target: its scopes, purpose, validity, RFC 9396 details.
- ``LinkConsent``: one resident's yes to an offer; the exchange looks for a live one (not expired, not withdrawn).
  ``id`` is the link id carried by exchanged tokens (``lnk``); scopes, details and purpose are a snapshot of what
  the resident was shown.
- ``LinkExchange``: one exchanged token (``jti``): when, which scopes, from which grant. The resident's log of the
  link, what introspection checks (the consent, the grant it came from), and the source of the audit log's
  ``link_used`` entries (``audited``: appended by the ``link-use-audit`` job, ``anchorid.idp.links.usage``).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from anchorid.idp.oidc.models import Client


class LinkScope(models.Model):
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="link_scopes")
    name = models.CharField(max_length=64)
    label_ja = models.CharField(max_length=200)
    label_en = models.CharField(max_length=200)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["client", "name"], name="links_scope_one_per_client")
        ]

    def __str__(self) -> str:
        return f"{self.client_id}: {self.name}"


class LinkOffer(models.Model):
    id = models.CharField(max_length=64, primary_key=True)
    source = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="link_offers_out")
    target = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="link_offers_in")
    scopes = models.JSONField(default=list)
    authorization_details = models.JSONField(default=list, blank=True)
    purpose_ja = models.CharField(max_length=500)
    purpose_en = models.CharField(max_length=500)
    days = models.PositiveIntegerField()
    further_exchange = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.id} ({self.source_id} → {self.target_id})"


class LinkConsent(models.Model):
    id = models.CharField(max_length=32, primary_key=True)
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="link_consents")
    offer = models.ForeignKey(LinkOffer, on_delete=models.CASCADE, related_name="consents")
    source = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    scopes = models.JSONField(default=list)
    authorization_details = models.JSONField(default=list, blank=True)
    purpose_ja = models.CharField(max_length=500)
    purpose_en = models.CharField(max_length=500)
    further_exchange = models.BooleanField(default=False)
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["account", "source", "target"])]

    def __str__(self) -> str:
        return f"link {self.id[:8]}… ({self.offer_id})"

    def live(self, now: object = None) -> bool:
        moment = timezone.now() if now is None else now
        return self.withdrawn_at is None and self.expires_at > moment  # type: ignore[operator]


class LinkExchange(models.Model):
    jti = models.CharField(max_length=32, primary_key=True)
    consent = models.ForeignKey(LinkConsent, on_delete=models.CASCADE, related_name="exchanges")
    grant_id = models.CharField(max_length=32, help_text="the source grant the subject token came from")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=1000)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    audited = models.BooleanField(default=False, help_text="its link_used entry is in the audit log")

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["consent", "created_at"]),
            models.Index(fields=["audited", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"exchange {self.jti[:8]}…"
