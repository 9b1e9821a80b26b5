"""The resident's pages for links: the consent screen (reached from either service) and 連携 in ``/me/``.

Consent: ``GET /links/consent/?offer=ID&return_to=URL[&state=S]``; ``return_to`` must be a registered redirect URI
of the offer's source or target (else a 400 page; no open redirect). Logged in, the resident sees who → whom, what,
why and until when, and approves or declines; the browser goes back to ``return_to`` with ``link=approved|denied``,
``offer`` and ``state``. docs/protocols/token-exchange.md §2 and §8.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from anchorid.common.csp import allow_form_targets
from anchorid.idp.assurance import Level
from anchorid.idp.links import consents, presentation, receipt
from anchorid.idp.links.models import LinkConsent, LinkOffer
from anchorid.idp.sessions import LOGIN_URL_NAME, current_authentication, login_redirect, requires_level

MAX_STATE = 200


class BadLinkRequest(Exception):
    """The service sent the resident here with a request we cannot honour (the message is for the page)."""


def _checked(params: Any) -> tuple[LinkOffer, str, str]:
    offer_id, return_to, state = params.get("offer", ""), params.get("return_to", ""), params.get("state", "")
    offer = LinkOffer.objects.select_related("source", "target").filter(id=offer_id, active=True).first()
    if offer is None or not offer.source.active or not offer.target.active:
        raise Http404("no such link offer")
    allowed = set(offer.source.redirect_uris) | set(offer.target.redirect_uris)
    if return_to not in allowed:
        raise BadLinkRequest(_("The service that sent you here gave an address it has not registered."))
    if len(state) > MAX_STATE or not all(" " < c < "\x7f" for c in state):
        raise BadLinkRequest(_("The service that sent you here sent a malformed request."))
    return offer, return_to, state


def _back(return_to: str, offer: LinkOffer, result: str, state: str) -> HttpResponseRedirect:
    parts = urlsplit(return_to)
    params = {"link": result, "offer": offer.id, **({"state": state} if state else {})}
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    response = HttpResponseRedirect(urlunsplit((parts.scheme, parts.netloc, parts.path, query, "")))
    response["Cache-Control"] = "no-store"
    return response


def _bad(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "links/error.html", {"message": message}, status=400)


@require_http_methods(["GET", "HEAD", "POST"])
def consent(request: HttpRequest) -> HttpResponse:
    params = request.POST if request.method == "POST" else request.GET
    try:
        offer, return_to, state = _checked(params)
    except BadLinkRequest as e:
        return _bad(request, str(e))
    current = current_authentication(request)
    if current is None or current.level < Level.DERIVED:
        return login_redirect(request, LOGIN_URL_NAME)
    account = current.account
    from anchorid.idp.guardians.service import full_guardian_of

    if full_guardian_of(account):  # a child under 15: a guardian decides, and guardians cannot approve links yet
        return render(request, "links/error.html", {"message": _(
            "A child's links between services are decided by the guardian; AnchorID does not offer them yet."
        )}, status=403)  # fmt: skip
    live = consents.live_consent(account, offer)
    if request.method == "POST":
        decision = request.POST.get("decision")
        if decision == "approve":
            consents.grant(account, offer)
            return _back(return_to, offer, "approved", state)
        if decision == "deny":
            return _back(return_to, offer, "denied", state)
        return _bad(request, _("Choose whether to link the services."))
    context = {
        "offer": offer,
        "view": presentation.offer_view(offer),
        "live": live,
        "live_until": timezone.localdate(live.expires_at) if live else None,
        "until": timezone.localdate(timezone.now() + timedelta(days=offer.days)),
        "return_to": return_to,
        "state": state,
        "back": _back(return_to, offer, "approved", state)["Location"] if live else "",
    }
    return allow_form_targets(render(request, "links/consent.html", context), return_to)


@require_GET
@requires_level(Level.DERIVED)
def links_page(request: HttpRequest) -> HttpResponse:
    account = request.anchorid_auth.account  # type: ignore[attr-defined]
    rows = presentation.link_rows(account, now=timezone.now())
    return render(request, "links/links.html", {"links": rows})


@require_POST
@requires_level(Level.DERIVED)
def withdraw(request: HttpRequest, link_id: str) -> HttpResponse:
    account = request.anchorid_auth.account  # type: ignore[attr-defined]
    if consents.withdraw(account, link_id) is None:
        messages.error(request, _("No such link on your account, or it was already withdrawn. Nothing was changed."))
    else:
        messages.success(request, _("The link was withdrawn. The services can no longer exchange your data."))
    return redirect("links")


@require_GET
@requires_level(Level.DERIVED)
def receipt_download(request: HttpRequest, link_id: str) -> HttpResponse:
    account = request.anchorid_auth.account  # type: ignore[attr-defined]
    found = LinkConsent.objects.select_related("source", "target").filter(id=link_id, account=account).first()
    if found is None:
        raise Http404("no such link")
    response = HttpResponse(receipt.signed(found, get_language() or "ja"), content_type="application/jwt")
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-{found.id}.jwt"'
    response["Cache-Control"] = "no-store"
    return response
