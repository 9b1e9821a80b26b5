"""City staff register and edit clients here; the same rules as ``anchorid idp client add`` apply."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from anchorid.idp.oidc.clients import RegistrationError, check_registration
from anchorid.idp.oidc.models import Client


class ClientForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Client
        fields = (
            "client_id", "name", "profile", "auth_method", "jwks", "jwks_uri", "redirect_uris",
            "post_logout_redirect_uris", "backchannel_logout_uri", "scopes", "claims", "sector_identifier_uri",
            "public_sub", "require_acr", "require_par", "require_dpop", "id_token_signed_response_alg", "active",
        )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        candidate = Client(**{k: v for k, v in cleaned.items() if k in {f.name for f in Client._meta.fields}})
        candidate.secret_hash = self.instance.secret_hash if self.instance else ""
        try:
            check_registration(candidate)
        except RegistrationError as e:
            raise forms.ValidationError(str(e)) from None
        self.instance.sector = candidate.sector
        cleaned["require_par"], cleaned["require_dpop"] = candidate.require_par, candidate.require_dpop
        return cleaned


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ClientForm
    list_display = ("client_id", "name", "profile", "auth_method", "sector", "active")
    list_filter = ("profile", "auth_method", "active")
    search_fields = ("client_id", "name")
    readonly_fields = ("sector", "created_at", "updated_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # disable instead: grants and consents refer to the client
