"""What the OpenID Provider stores: clients, signing-key states, pushed requests, grants, consent, seen jtis.

- ``Client``: a relying party registered by city staff (admin) or ``anchorid idp client add``.
- ``SigningKey``: which KeyStore key signs tokens (``current``), which is published ahead (``next``) and which
  is kept for verification until its tokens expire (``retired``). Private keys stay in the KeyStore.
- ``PushedRequest``: an authorization request, pushed (RFC 9126) or made at the authorization endpoint and kept
  here while the resident logs in and consents; ``request_uri`` names it.
- ``Grant``: one authorization: the code (hashed, single use), then the tokens issued from it. Revoking the
  grant revokes every token issued from it (access tokens carry the grant id and are checked against it).
- ``ConsentDecision``: the resident's choice per client and claim (granted or declined).
- ``SeenJti``: ``jti`` values of client assertions and DPoP proofs until they expire (replay protection).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class Client(models.Model):
    class Profile(models.TextChoices):
        FAPI = "fapi", "FAPI 2.0"
        SIMPLE = "simple", "simple"

    class AuthMethod(models.TextChoices):
        PRIVATE_KEY_JWT = "private_key_jwt"
        CLIENT_SECRET_BASIC = "client_secret_basic"  # noqa: S105 (a method name)
        NONE = "none"

    client_id = models.CharField(max_length=128, primary_key=True)
    name = models.CharField(max_length=200, help_text="shown to residents on the consent screen")
    profile = models.CharField(max_length=16, choices=Profile.choices, default=Profile.FAPI)
    auth_method = models.CharField(max_length=32, choices=AuthMethod.choices, default=AuthMethod.PRIVATE_KEY_JWT)
    secret_hash = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the client secret (hex)")
    jwks = models.JSONField(null=True, blank=True, help_text="the client's public keys (JWK Set)")
    jwks_uri = models.URLField(blank=True)
    redirect_uris = models.JSONField(default=list, help_text="exact redirect URIs")
    post_logout_redirect_uris = models.JSONField(default=list, blank=True)
    backchannel_logout_uri = models.URLField(blank=True)
    scopes = models.JSONField(default=list, help_text="scopes this client may ask for")
    claims = models.JSONField(default=list, help_text="claims this client may ask for")
    sector_identifier_uri = models.URLField(blank=True)
    sector = models.CharField(max_length=255, help_text="pairwise sector (host)")
    public_sub = models.BooleanField(default=False, help_text="allowed the public (non-pairwise) subject")
    require_acr = models.CharField(max_length=64, blank=True)
    require_par = models.BooleanField(default=True)
    require_dpop = models.BooleanField(default=True)
    id_token_signed_response_alg = models.CharField(max_length=8, default="ES256")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.client_id


class SigningKey(models.Model):
    class State(models.TextChoices):
        NEXT = "next"
        CURRENT = "current"
        RETIRED = "retired"

    kid = models.CharField(max_length=64, primary_key=True)
    key_name = models.CharField(max_length=64, unique=True)
    alg = models.CharField(max_length=8)
    state = models.CharField(max_length=16, choices=State.choices)
    created_at = models.DateTimeField(default=timezone.now)
    state_changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.alg} {self.kid[:12]} ({self.state})"


class PushedRequest(models.Model):
    id = models.CharField(max_length=64, primary_key=True)
    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    params = models.JSONField()
    pushed = models.BooleanField(default=True, help_text="came through the PAR endpoint")
    dpop_jkt = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used = models.BooleanField(default=False)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"request {self.id[:8]}… ({self.client_id})"


class Grant(models.Model):
    id = models.CharField(max_length=32, primary_key=True)
    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    code_hash = models.CharField(max_length=64, unique=True)
    code_expires_at = models.DateTimeField()
    code_used = models.BooleanField(default=False)
    redirect_uri = models.CharField(max_length=2000)
    code_challenge = models.CharField(max_length=128)
    nonce = models.CharField(max_length=512, blank=True)
    scope = models.CharField(max_length=1000)
    claims = models.JSONField(help_text="claims granted, and where each is delivered")
    acr = models.CharField(max_length=64)
    amr = models.JSONField(default=list)
    auth_time = models.DateTimeField()
    sid = models.CharField(max_length=64, blank=True, help_text="the login session (Back-Channel Logout sid)")
    dpop_jkt = models.CharField(max_length=64, blank=True)
    refresh_generation = models.PositiveIntegerField(default=0)
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["account", "client"]),
            models.Index(fields=["sid"]),
        ]

    def __str__(self) -> str:
        return f"grant {self.id[:8]}… ({self.client_id})"


class ConsentDecision(models.Model):
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_consents")
    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    claim = models.CharField(max_length=64)
    granted = models.BooleanField()
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["account", "client", "claim"], name="oidc_consent_one_per_claim")
        ]

    def __str__(self) -> str:
        return f"{self.client_id}: {self.claim} {'granted' if self.granted else 'declined'}"


class SeenJti(models.Model):
    key = models.CharField(max_length=64, primary_key=True, help_text="SHA-256 of purpose, issuer and jti")
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.key[:12]
