"""Self-service pages. Every form is a CSRF-protected POST; every change goes through ``actions``."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from anchorid.idp.assurance import Level
from anchorid.idp.guardians.models import ChildAccount
from anchorid.idp.oidc.consent import connected_services
from anchorid.idp.selfservice import actions
from anchorid.idp.selfservice.actions import ActionRefused
from anchorid.idp.selfservice.presentation import attribute_rows, describe_entry, service_names
from anchorid.idp.sessions import FRESH, CurrentAuthentication, current_authentication, log_out, requires_level


def _current(request: HttpRequest) -> CurrentAuthentication:
    current: CurrentAuthentication = request.anchorid_auth  # type: ignore[attr-defined]
    return current


def _refused(request: HttpRequest, refusal: ActionRefused) -> HttpResponseRedirect:
    if refusal.code == "unknown_credential":
        messages.error(request, _("No such credential on your account. Nothing was changed."))
    else:
        messages.error(request, refusal.message)
    return redirect("selfservice")


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The idp's front page (``/``, the header link of every page): what AnchorID is and where to go — create an
    account with the card, log in, one's account, checking a signed PDF, the emergency stop, and for developers the
    published metadata. Anyone may open it; logged in, it leads to the account instead of onboarding."""
    return render(request, "selfservice/home.html", {"current": current_authentication(request)})


@require_GET
@requires_level(Level.DERIVED)
def overview(request: HttpRequest) -> HttpResponse:
    current = _current(request)
    account = current.account
    services = service_names()
    return render(
        request,
        "selfservice/overview.html",
        {
            "current": current,
            "account": account,
            "attributes": attribute_rows(account.attributes()),
            "credentials": actions.credentials(account),
            "activity": [describe_entry(e, services) for e in actions.activity(account, limit=10)],
            "services": connected_services(account),
            # a child's own account (under 18, through a guardian) has no "My children"
            "may_be_guardian": not ChildAccount.objects.filter(account=account)
            .exclude(stage=ChildAccount.Stage.ADULT)
            .exists(),
        },
    )


@require_GET
@requires_level(Level.DERIVED)
def activity(request: HttpRequest) -> HttpResponse:
    account = _current(request).account
    services = service_names()
    entries = [describe_entry(e, services) for e in actions.activity(account, limit=500)]
    return render(request, "selfservice/activity.html", {"activity": entries})


@require_POST
@requires_level(Level.DERIVED, max_age=FRESH)
def revoke_credential(request: HttpRequest, kind: str, credential_id: str) -> HttpResponse:
    try:
        actions.revoke_credential(_current(request).account, kind, credential_id)
    except ActionRefused as refusal:
        return _refused(request, refusal)
    messages.success(request, _("The credential was revoked. It can no longer be used."))
    return redirect("selfservice")


@require_POST
@requires_level(Level.DERIVED)
def suspend_credential(request: HttpRequest, kind: str, credential_id: str) -> HttpResponse:
    current = _current(request)
    try:
        actions.suspend_credential(current.account, kind, credential_id, channel="session")
    except ActionRefused as refusal:
        return _refused(request, refusal)
    if current_authentication(request) is None:  # this very session used the stopped credential
        log_out(request)
        messages.warning(request, _("The credential you were using is stopped, so you were logged out."))
        return redirect("login")
    messages.success(request, _("The credential is stopped. To use it again, resume it with your My Number Card."))
    return redirect("selfservice")


@require_POST
@requires_level(Level.CARD, max_age=FRESH)
def resume_credential(request: HttpRequest, kind: str, credential_id: str) -> HttpResponse:
    try:
        actions.resume_credential(_current(request).account, kind, credential_id)
    except ActionRefused as refusal:
        return _refused(request, refusal)
    messages.success(request, _("The credential can be used again."))
    return redirect("selfservice")


@require_GET
def emergency_stop(request: HttpRequest) -> HttpResponse:
    """Reachable without a login: from here, a logged-in resident stops the account; anyone else uses the card."""
    current = current_authentication(request)
    return render(
        request,
        "selfservice/stop.html",
        {"current": current, "credentials": actions.credentials(current.account) if current else []},
    )


@require_POST
@requires_level(Level.DERIVED)
def suspend_account(request: HttpRequest) -> HttpResponse:
    actions.suspend_account(_current(request).account, channel="session")
    log_out(request)
    messages.success(
        request,
        _(
            "Your account is stopped: no one can log in with it, on any device, until you resume it with your "
            "My Number Card."
        ),
    )
    return redirect("emergency_stop")


@require_GET
@requires_level(Level.DERIVED)
def delete_page(request: HttpRequest) -> HttpResponse:
    return render(request, "selfservice/delete.html", {"current": _current(request)})


@require_POST
@requires_level(Level.CARD, max_age=FRESH)
def delete_account(request: HttpRequest) -> HttpResponse:
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Please tick the box to confirm that you want to delete your account."))
        return redirect("selfservice_delete")
    try:
        actions.delete_account(_current(request).account)
    except ActionRefused as refusal:
        return _refused(request, refusal)
    log_out(request)
    messages.success(request, _("Your account was deleted."))
    return HttpResponseRedirect(reverse("login"))
