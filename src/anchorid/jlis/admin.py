"""Staff pages: the resident register and the counter's life events (Django admin).

Editing a resident's address or name in the register goes through the life event (move / name change), so
the signature certificate is revoked exactly as at a real counter. The other events are admin actions.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from anchorid.jlis import issuance, lifeevents
from anchorid.jlis.models import (
    AttributeConsent,
    Card,
    Certificate,
    CertificateAuthority,
    LifeEvent,
    PlatformOperator,
    Resident,
)
from anchorid.jlis.seed import new_my_number
from anchorid.jpki.cardfile import KeySlot


def _each(
    modeladmin: admin.ModelAdmin[Resident], request: HttpRequest, queryset: QuerySet[Resident], event: Any, done: str
) -> None:
    for resident in queryset:
        try:
            result = event(resident)
        except (lifeevents.LifeEventError, issuance.IssuanceError) as exc:
            modeladmin.message_user(request, f"{resident}: {exc}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{resident}: {done}{result or ''}", messages.SUCCESS)


@admin.action(description="カード交付 (issue a new card)")
def issue_card(modeladmin: admin.ModelAdmin[Resident], request: HttpRequest, queryset: QuerySet[Resident]) -> None:
    def event(resident: Resident) -> str:
        issued = issuance.issue_card(resident)
        # At the counter the resident sets these; the clerk sees them once, here.
        return f" — card file {issued.path}, PINs {issued.signature_pin} / {issued.authentication_pin}"

    _each(modeladmin, request, queryset, event, "card issued")


@admin.action(description="署名用電子証明書の再発行 (new signature certificate)")
def reissue_signature(
    modeladmin: admin.ModelAdmin[Resident], request: HttpRequest, queryset: QuerySet[Resident]
) -> None:
    _each(
        modeladmin,
        request,
        queryset,
        lambda r: f" serial {lifeevents.reissue_signature_certificate(r).serial}",
        "new signature certificate,",
    )


@admin.action(description="一時保留 (lost card: hold both certificates)")
def hold(modeladmin: admin.ModelAdmin[Resident], request: HttpRequest, queryset: QuerySet[Resident]) -> None:
    _each(modeladmin, request, queryset, lambda r: lifeevents.hold_lost_card(r) and None, "certificates on hold")


@admin.action(description="死亡 (record death)")
def death(modeladmin: admin.ModelAdmin[Resident], request: HttpRequest, queryset: QuerySet[Resident]) -> None:
    _each(modeladmin, request, queryset, lambda r: lifeevents.record_death(r) and None, "death recorded")


@admin.action(description="署名用パスワード初期化 (reset signature PIN)")
def reset_signature_pin(
    modeladmin: admin.ModelAdmin[Resident], request: HttpRequest, queryset: QuerySet[Resident]
) -> None:
    _each(modeladmin, request, queryset, lambda r: lifeevents.reset_pin(r, KeySlot.SIGNATURE), "new signature PIN: ")


@admin.action(description="利用者証明用暗証番号初期化 (reset auth PIN)")
def reset_auth_pin(modeladmin: admin.ModelAdmin[Resident], request: HttpRequest, queryset: QuerySet[Resident]) -> None:
    _each(modeladmin, request, queryset, lambda r: lifeevents.reset_pin(r, KeySlot.AUTHENTICATION), "new auth PIN: ")


class CertificateInline(admin.TabularInline):  # type: ignore[type-arg]  # runtime classes are not subscriptable
    model = Certificate
    fields = ("kind", "serial", "status", "revocation_reason", "revoked_at", "not_after")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Resident)
class ResidentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # runtime classes are not subscriptable
    list_display = ("id", "family_name", "given_name", "birth_date", "status", "municipality_code")
    list_filter = ("status", "gender")
    search_fields = ("family_name", "given_name", "family_name_kana", "given_name_kana")
    readonly_fields = ("status", "died_on", "created_at", "updated_at")
    inlines = (CertificateInline,)
    actions = (issue_card, reissue_signature, hold, death, reset_signature_pin, reset_auth_pin)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if "my_number" in form.base_fields:
            form.base_fields["my_number"].required = False
            form.base_fields["my_number"].help_text = "空欄なら自動採番 (left empty: a synthetic number is assigned)"
        return form

    def save_model(self, request: HttpRequest, obj: Resident, form: forms.ModelForm[Resident], change: bool) -> None:
        if not change:
            obj.my_number = obj.my_number or new_my_number()
            super().save_model(request, obj, form, change)
            return
        # Address and name changes are life events: they revoke the signature certificate.
        before = Resident.objects.get(pk=obj.pk)
        new_address = obj.address
        new_name = (obj.family_name, obj.given_name, obj.family_name_kana, obj.given_name_kana)
        obj.address, obj.family_name, obj.given_name = before.address, before.family_name, before.given_name
        obj.family_name_kana, obj.given_name_kana = before.family_name_kana, before.given_name_kana
        super().save_model(request, obj, form, change)
        try:
            if new_address != before.address:
                lifeevents.move(obj, address=new_address, municipality_code=obj.municipality_code)
                self.message_user(request, "転居: the signature certificate was revoked (affiliationChanged)")
            if new_name[:2] != (before.family_name, before.given_name):
                lifeevents.change_name(
                    obj,
                    family_name=new_name[0],
                    given_name=new_name[1],
                    family_name_kana=new_name[2],
                    given_name_kana=new_name[3],
                )
                self.message_user(request, "氏名変更: the signature certificate was revoked (affiliationChanged)")
        except lifeevents.LifeEventError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        obj.refresh_from_db()


@admin.register(Card)
class CardAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # runtime classes are not subscriptable
    list_display = ("id", "resident", "status", "issued_on", "expires_on")
    list_filter = ("status",)
    readonly_fields = ("resident", "card_file", "issued_on", "expires_on", "status", "created_at")


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # runtime classes are not subscriptable
    list_display = ("id", "kind", "serial", "resident", "status", "revocation_reason", "not_after")
    list_filter = ("kind", "status", "revocation_reason")
    search_fields = ("serial",)
    exclude = ("der", "ocsp_response")
    readonly_fields = (
        "authority",
        "kind",
        "serial",
        "subject_cn",
        "not_before",
        "not_after",
        "status",
        "revocation_reason",
        "revoked_at",
        "resident",
        "card",
        "ocsp_next_update",
        "created_at",
    )


@admin.register(LifeEvent)
class LifeEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # runtime classes are not subscriptable
    list_display = ("id", "resident", "kind", "occurred_at")
    list_filter = ("kind",)
    readonly_fields = ("resident", "kind", "occurred_at", "detail")


@admin.register(PlatformOperator)
class PlatformOperatorAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # runtime classes are not subscriptable
    list_display = ("name", "key_id", "active", "created_at")
    readonly_fields = ("key_id", "public_jwk", "created_at")


@admin.register(AttributeConsent)
class AttributeConsentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # runtime classes are not subscriptable
    list_display = ("id", "operator", "resident", "signed_at", "lodged_at", "withdrawn_at")
    exclude = ("document", "signature")
    readonly_fields = ("operator", "resident", "certificate", "signed_at", "lodged_at")


@admin.register(CertificateAuthority)
class CertificateAuthorityAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # runtime classes are not subscriptable
    list_display = ("kind", "crl_number", "crl_next_update", "created_at")
    exclude = ("certificate_der", "responder_certificate_der", "crl_der")
    readonly_fields = ("kind", "key_file", "responder_key_file", "crl_number", "crl_next_update", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
