"""The guardian's pages (``/me/children/``), adding a child with both cards, and the child's set-up link."""

from __future__ import annotations

import base64
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from anchorid.common import untrusted_json
from anchorid.common.csp import CSP_HEADER
from anchorid.idp.accounts.models import Account
from anchorid.idp.assurance import CARD_LOGIN, Level
from anchorid.idp.guardians import counter, service
from anchorid.idp.guardians.models import ChildAccount, Guardianship, ServiceApproval
from anchorid.idp.oidc.consent import connected_services
from anchorid.idp.oidc.presentation import claim_labels
from anchorid.idp.onboarding import challenges
from anchorid.idp.onboarding.refusals import Refusal
from anchorid.idp.onboarding.views import helper_port, idp_origin
from anchorid.idp.selfservice import actions
from anchorid.idp.selfservice.presentation import attribute_rows, describe_entry
from anchorid.idp.sessions import FRESH, AccountNotUsable, current_authentication, log_in, requires_level

MAX_BODY = 16 * 1024


def _guardian(request: HttpRequest) -> Account:
    current = current_authentication(request)
    assert current is not None
    return current.account


def _with_helper(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    helper = f"http://127.0.0.1:{helper_port()}"
    response[CSP_HEADER] = (
        "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'; "
        f"connect-src 'self' {helper} http://localhost:{helper_port()}"
    )
    return response


def _card_context(request: HttpRequest, complete_url: str) -> dict[str, Any]:
    origin = idp_origin(request)
    return {
        "challenge": challenges.open_challenge(request.session, origin, purpose=service.PURPOSE).text,
        "helper_url": f"http://127.0.0.1:{helper_port()}",
        "complete_url": complete_url,
        "idp_origin": origin,
    }


def _activity_line(entry: Any) -> Any:
    return describe_entry(entry)  # guardianship entries are named there too (the child's own history shows them)


@require_GET
@requires_level(Level.DERIVED)
def children(request: HttpRequest) -> HttpResponse:
    guardian = _guardian(request)
    labels = claim_labels()
    rows = []
    for guardianship in Guardianship.objects.select_related("child").filter(guardian=guardian, ended_at__isnull=True):
        child = guardianship.child
        full = guardianship.role == Guardianship.Role.FULL
        approvals = [
            {"approval": a, "claims": [(c, labels.get(c, c), essential) for c, essential in a.requested.items()]}
            for a in ServiceApproval.objects.select_related("client").filter(
                child=child, status=ServiceApproval.Status.PENDING
            )
        ] if full else []  # fmt: skip
        rows.append({
            "guardianship": guardianship,
            "child": child,
            "profile": ChildAccount.objects.filter(account=child).first(),
            "attributes": attribute_rows(child.attributes()) if full else [],
            "approvals": approvals,
            "services": connected_services(child),
            "activity": [_activity_line(e) for e in actions.activity(child, limit=20)] if full else [],
            "full": full,
        })  # fmt: skip
    return render(request, "guardians/children.html", {"rows": rows, "setup_url": request.session.pop(
        "anchorid.guardians.setup_url", None), "counter_requests": counter.pending(guardian)})  # fmt: skip


@require_GET
@ensure_csrf_cookie
@requires_level(Level.DERIVED, max_age=FRESH)
def add_child(request: HttpRequest) -> HttpResponse:
    context = _card_context(request, reverse("guardians_add_card"))
    return _with_helper(request, render(request, "guardians/add_card.html", context))


def _refusal_json(code: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


def _message(code: str) -> str:
    messages_by_code = {
        "child_already_registered": _("This card already has an account."),
        "jlis_not_guardian": _(
            "The resident register does not record you as this child's guardian. "
            "The city counter can confirm it with documents."
        ),
        "not_current_anchor": _("Sign with the card registered to your account."),
        "guardian_not_full": _("A guardian needs a full account registered with their own card."),
        "jlis_unavailable": _("J-LIS cannot be reached now. Nothing was changed; try again later."),
        "setup_link_invalid": _("This link is not valid any more. Ask your guardian for a new one."),
        "not_this_child": _("This card does not belong to the account this link is for."),
        "no_child_card": _("Start again with your child's card."),
        "counter_code_invalid": _("No open request has this code. It may be used, expired or mistyped."),
        "counter_record_incomplete": _("Tick the documents checked."),
    }
    return messages_by_code.get(code, _("Refused (%(code)s). Nothing was changed.") % {"code": code})


@require_POST
@requires_level(Level.DERIVED, max_age=FRESH, json=True)
def add_child_card(request: HttpRequest) -> JsonResponse:
    try:
        card = service.verify_child_card(
            request.session, untrusted_json.request_body(request)[:MAX_BODY], idp_origin(request)
        )
        service.remember_child_card(request.session, card)
    except Refusal as refusal:
        return _refusal_json(refusal.code, refusal.message, refusal.status)
    except service.GuardianRefused as refusal:
        return _refusal_json(refusal.code, _message(refusal.code))
    return JsonResponse({"ok": True, "redirect": reverse("guardians_add_guardian")})


@require_GET
@ensure_csrf_cookie
@requires_level(Level.DERIVED, max_age=FRESH)
def add_guardian(request: HttpRequest) -> HttpResponse:
    try:
        document = service.prepare_document(request.session, idp_origin(request))
    except service.GuardianRefused:
        return redirect("guardians_add")
    context = {
        "document": document,
        "purpose": service.GUARDIAN_PURPOSE,
        "helper_url": f"http://127.0.0.1:{helper_port()}",
        "idp_origin": idp_origin(request),
    }
    return _with_helper(request, render(request, "guardians/add_guardian.html", context))


def _b64url(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


@require_POST
@requires_level(Level.DERIVED, max_age=FRESH, json=True)
def add_guardian_complete(request: HttpRequest) -> JsonResponse:
    try:
        body = service.parse_json(untrusted_json.request_body(request)[:MAX_BODY])
        document = body["document"]
        certificate, signature = _b64url(body["certificate"]), _b64url(body["signature"])
        if not isinstance(document, str):
            raise ValueError("document")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return _refusal_json("bad_request", _("The card helper's answer is malformed."))
    try:
        service.confirm_with_register(
            _guardian(request), request.session, document=document, certificate_der=certificate, signature=signature
        )
    except service.GuardianRefused as refusal:
        return _refusal_json(refusal.code, _message(refusal.code))
    messages.success(request, _("Your child's account is open. Give your child the set-up link to add a passkey."))
    return JsonResponse({"ok": True, "redirect": reverse("guardians_children")})


def _child_id(child_id: str) -> str:
    try:
        return str(Account._meta.pk.to_python(child_id))
    except Exception:
        raise Http404 from None


@require_POST
@requires_level(Level.DERIVED, max_age=FRESH)
def decide(request: HttpRequest, approval_id: int) -> HttpResponse:
    approve = request.POST.get("decision") == "approve"
    try:
        service.decide(_guardian(request), approval_id, approve=approve, claims=set(request.POST.getlist("claim")))
    except service.GuardianRefused:
        raise Http404 from None
    messages.success(request, _("Approved.") if approve else _("Refused."))
    return redirect("guardians_children")


@require_POST
@requires_level(Level.DERIVED, max_age=FRESH)
def stop(request: HttpRequest, child_id: str) -> HttpResponse:
    try:
        service.stop_child(_guardian(request), _child_id(child_id))
    except service.GuardianRefused:
        raise Http404 from None
    messages.success(request, _("Your child's account is stopped."))
    return redirect("guardians_children")


@require_POST
@requires_level(Level.DERIVED, max_age=FRESH)
def setup_link(request: HttpRequest, child_id: str) -> HttpResponse:
    try:
        token = service.new_setup_link(_guardian(request), _child_id(child_id))
    except service.GuardianRefused:
        raise Http404 from None
    request.session["anchorid.guardians.setup_url"] = idp_origin(request) + reverse("guardians_setup", args=[token])
    return redirect("guardians_children")


@require_GET
@ensure_csrf_cookie
def child_setup(request: HttpRequest, token: str) -> HttpResponse:
    try:
        service.setup_link(token)
    except service.GuardianRefused as refusal:
        return render(request, "guardians/setup.html", {"refused": _message(refusal.code)}, status=404)
    context = _card_context(request, reverse("guardians_setup_complete", args=[token]))
    return _with_helper(request, render(request, "guardians/setup.html", context))


@require_POST
def child_setup_complete(request: HttpRequest, token: str) -> JsonResponse:
    try:
        card = service.verify_child_card(
            request.session, untrusted_json.request_body(request)[:MAX_BODY], idp_origin(request)
        )
        child = service.use_setup_link(token, card)
        log_in(request, child, CARD_LOGIN)
    except Refusal as refusal:
        return _refusal_json(refusal.code, refusal.message, refusal.status)
    except service.GuardianRefused as refusal:
        return _refusal_json(refusal.code, _message(refusal.code))
    except AccountNotUsable:
        return _refusal_json("account_suspended", _("This account is stopped."), 403)
    return JsonResponse({"ok": True, "redirect": reverse("passkey_register") + "?next=/me/"})
