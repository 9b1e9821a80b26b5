"""The city's pages: the resident home, login with AnchorID, logout; the back-channel logout endpoint; JWKS."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from anchorid.city import linked_services, resident_home
from anchorid.city import login as anchorid_login
from anchorid.city.booking import home as booking_home
from anchorid.city.booking import service as booking_service
from anchorid.city.rp.setup import configured_issuer
from anchorid.common import anonymous_rows, display
from anchorid.common.ratelimit import RateLimited
from anchorid.common.rp.client import LoginError
from anchorid.common.settings_base import DATA_DIR

log = logging.getLogger(__name__)

#: How the home page names the claims it received (residents never see the claim's own name).
CLAIM_LABELS = {
    "sub": gettext_lazy("Your identifier at the city"),
    "name": gettext_lazy("Name"),
    "birthdate": gettext_lazy("Date of birth"),
    "gender": gettext_lazy("Gender"),
    "address": gettext_lazy("Address"),
    "age_over_18": gettext_lazy("18 or older"),
    "age_over_65": gettext_lazy("65 or older"),
    "resident_of": gettext_lazy("Municipality of residence (local government code)"),
    "verified_claims": gettext_lazy("Verified attributes"),
}

#: Back from the idp's link consent screen: what the resident decided.
LINK_ANSWERS = {
    "approved": gettext_lazy("The service is linked. Its information about you now appears below."),
    "denied": gettext_lazy("You did not link the service. Nothing was shared."),
}


@require_GET
@never_cache
def home(request: HttpRequest) -> HttpResponse:
    current = anchorid_login.logged_in(request.session)
    claims = sorted((current or {}).get("claims", {}).items())
    shown = [(name, CLAIM_LABELS.get(name, _("Other information")), _as_text(value, name)) for name, value in claims]
    context = {"current": current, "claims": shown, "anchorid_site_name": _("Kamakura City")}
    issuer = configured_issuer(DATA_DIR)
    # "I moved" lives at AnchorID: it holds which services have the address and what was delivered to each.
    context["moving_url"] = f"{issuer.rstrip('/')}/me/moving/" if issuer else None
    booking_context = booking_home.home_context((current or {}).get("claims"))
    booking_context["eligibility"] = [  # the claim each rests on, by its label
        dataclasses.replace(item, because=str(CLAIM_LABELS.get(item.because, _("Other information"))))
        for item in booking_context.get("eligibility", [])
    ]
    context.update(booking_context, language=get_language())
    if current:
        context.update(_linked_context(request))
    return render(request, "city/home.html", context)


def _linked_context(request: HttpRequest) -> dict[str, Any]:
    """The personalized part of the home (issue 17): each linked service's panel, fetched now, kept nowhere; the
    benefits the resident could claim, gathered at the top."""
    services = linked_services.load(DATA_DIR)
    if not services:
        return {}
    client = anchorid_login.client()
    panels = resident_home.panels(request.session, client, services, return_to=client.config.redirect_uri)
    benefits = [
        item for panel in panels if panel.state == resident_home.SHOWN for item in panel.data.get("benefits", [])
    ]
    issuer = client.config.issuer.rstrip("/")
    return {"linked_panels": panels, "unclaimed_benefits": benefits, "links_url": f"{issuer}/me/links/"}


def _as_text(value: object, name: str = "") -> str:
    """A claim as a resident reads it: strings as they are, yes/no for booleans, for verified claims which
    attributes were checked against the card (by their labels); anything else as JSON."""
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if name == "gender":  # the claim's value (female) is a code too: shown in the page's language
        return display.gender(value)
    if isinstance(value, dict) and isinstance(value.get("claims"), dict):
        names = "、" if get_language() == "ja" else ", "
        checked = names.join(str(CLAIM_LABELS.get(name, _("Other information"))) for name in value["claims"])
        return str(_("Checked against the My Number Card: %(claims)s") % {"claims": checked})
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@require_POST
def login(request: HttpRequest) -> HttpResponse:
    try:  # each login a stranger starts is a session row here and a pushed request at the idp: capped
        anonymous_rows.cap(request, "rp-login")
    except RateLimited as limited:
        return anonymous_rows.limited_page(request, limited, back="/")
    try:
        return HttpResponseRedirect(anchorid_login.begin_login(request.session))
    except LoginError as error:
        log.warning("login could not start: %s", error.code)
        messages.error(request, _("AnchorID could not be reached. Please try again later."))
        return redirect("city_home")


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    link = request.GET.get("link")
    if link in LINK_ANSWERS and "code" not in request.GET and "error" not in request.GET:
        # Back from the idp's link consent screen (its return_to must be one of our redirect URIs): not a login.
        messages.info(request, LINK_ANSWERS[link])
        return redirect("city_home")
    try:
        claims = anchorid_login.complete_login(request.session, request.build_absolute_uri())
    except LoginError as error:
        log.info("login refused: %s", error.code)
        if error.code == "access_denied":
            messages.info(request, _("You did not log in."))
        else:
            messages.error(request, _("The login did not succeed. Please try again."))
        return redirect("city_home")
    if "sub" in claims:  # online registration for facility booking: no counter visit
        booking_service.user_from_claims(claims)
    messages.success(request, _("You are logged in with AnchorID."))
    return redirect("city_home")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    try:
        url = anchorid_login.end_session(request.session)
    except LoginError as error:  # the city session is over; only the idp's could not be ended from here
        log.warning("logout at the idp could not start: %s", error.code)
        messages.warning(request, _("You are logged out of the city. AnchorID could not be reached."))
        return redirect("city_home")
    return HttpResponseRedirect(url) if url else redirect("city_home")


@require_GET
def logged_out(request: HttpRequest) -> HttpResponse:
    if anchorid_login.confirm_logout(request.session, request.GET.get("state", "")):
        messages.success(request, _("You have logged out of the city and of AnchorID."))
    return redirect("city_home")
