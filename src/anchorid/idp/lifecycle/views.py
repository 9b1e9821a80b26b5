"""The resident's lifecycle pages under /me/: notices, contact e-mail, refresh consent (give with the card, withdraw).

Every change is a CSRF-protected POST by a logged-in resident. Giving the consent needs the card (the helper
signs the consent document); withdrawing it needs only the session, so withdrawal is never harder than consent.
"""

from __future__ import annotations

import base64

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from anchorid.common import untrusted_json
from anchorid.common.csp import CSP_HEADER
from anchorid.idp.assurance import Level
from anchorid.idp.lifecycle import consent, notices
from anchorid.idp.onboarding.views import helper_port, idp_origin
from anchorid.idp.sessions import FRESH, CurrentAuthentication, requires_level

MAX_BODY = 64 * 1024


def _current(request: HttpRequest) -> CurrentAuthentication:
    current: CurrentAuthentication = request.anchorid_auth  # type: ignore[attr-defined]
    return current


class ContactEmailForm(forms.Form):
    address = forms.EmailField(label=gettext_lazy("E-mail address"), max_length=254)


@require_POST
@requires_level(Level.DERIVED)
def notice_read(request: HttpRequest, notice_id: int) -> HttpResponse:
    notices.mark_read(_current(request).account, notice_id)
    return redirect("selfservice")


@require_POST
@requires_level(Level.DERIVED)
def contact_email(request: HttpRequest) -> HttpResponse:
    account = _current(request).account
    if request.POST.get("remove"):
        notices.remove_contact(account)
        messages.success(request, _("Your contact e-mail address was removed."))
        return redirect("selfservice")
    form = ContactEmailForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a valid e-mail address. Nothing was changed."))
        return redirect("selfservice")
    notices.request_verification(account, form.cleaned_data["address"])
    messages.success(request, _("We sent a confirmation link to that address. Open it to start receiving notices."))
    return redirect("selfservice")


@require_GET
@requires_level(Level.DERIVED)
def contact_email_confirm(request: HttpRequest, token: str) -> HttpResponse:
    if notices.confirm_verification(_current(request).account, token):
        messages.success(request, _("Your contact e-mail address is confirmed."))
    else:
        messages.error(request, _("This confirmation link is not valid (expired, or for another address)."))
    return redirect("selfservice")


@require_GET
@ensure_csrf_cookie
@requires_level(Level.DERIVED, max_age=FRESH)
def refresh_consent_page(request: HttpRequest) -> HttpResponse:
    account = _current(request).account
    helper = f"http://127.0.0.1:{helper_port()}"
    standing = consent.standing(account)
    response = render(
        request,
        "lifecycle/refresh_consent.html",
        {
            "standing": standing,
            "document": "" if standing else consent.prepare_document(request.session, idp_origin(request)),
            "purpose": consent.PURPOSE,
            "helper_url": helper,
            "idp_origin": idp_origin(request),
        },
    )
    response[CSP_HEADER] = (
        "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'; "
        f"connect-src 'self' {helper} http://localhost:{helper_port()}"
    )
    return response


def _b64url(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


@require_POST
@requires_level(Level.DERIVED, max_age=FRESH, json=True)
def refresh_consent_complete(request: HttpRequest) -> JsonResponse:
    account = _current(request).account
    try:
        body = untrusted_json.loads(untrusted_json.request_body(request)[:MAX_BODY])
        document = body["document"]
        certificate_der, signature = _b64url(body["certificate"]), _b64url(body["signature"])
        if not isinstance(document, str):
            raise ValueError("document")
    except (ValueError, KeyError, TypeError):
        return JsonResponse(
            {"error": "bad_request", "message": _("The card helper's answer is malformed.")}, status=400
        )
    try:
        consent.give(account, request.session, document=document, certificate_der=certificate_der, signature=signature)
    except consent.ConsentRefused as refusal:
        return JsonResponse({"error": refusal.code, "message": _refusal_message(refusal.code)}, status=400)
    messages.success(request, _("Your consent to automatic refresh was lodged at J-LIS."))
    return JsonResponse({"redirect": "/me/"})


def _refusal_message(code: str) -> str:
    if code == "not_current_anchor":
        return _("Sign with the card registered to this account (its signature certificate must be in force).")
    if code == "jlis_unavailable":
        return _("J-LIS cannot be reached now. Nothing was changed; try again later.")
    if code == "already_given":
        return _("Your consent is already lodged.")
    return _("The consent was refused (%(code)s). Nothing was changed.") % {"code": code}


@require_POST
@requires_level(Level.DERIVED)
def refresh_consent_withdraw(request: HttpRequest) -> HttpResponse:
    try:
        withdrawn = consent.withdraw(_current(request).account)
    except consent.ConsentRefused:
        messages.error(request, _("There is no consent to withdraw."))
        return redirect("selfservice")
    if withdrawn.withdrawal_pending:
        messages.success(
            request, _("Your consent is withdrawn: it is no longer used. J-LIS will be told as soon as it answers.")
        )
    else:
        messages.success(request, _("Your consent is withdrawn, here and at J-LIS."))
    return redirect("selfservice")
