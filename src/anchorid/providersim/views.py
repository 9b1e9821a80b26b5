"""The providers' pages: an index, and per provider its customer page, sign-up with AnchorID, logout, the push
endpoint for the idp's events (RFC 8935) and its public keys."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from anchorid.common import anonymous_rows
from anchorid.common.ratelimit import RateLimited
from anchorid.common.rp.client import LoginError
from anchorid.common.rp.setup import JWKS_FILE
from anchorid.common.settings_base import DATA_DIR
from anchorid.providersim import customers
from anchorid.providersim.providers import PROVIDERS, SERVICES, Provider
from anchorid.ssf_receiver.push import handle_push

log = logging.getLogger(__name__)


def _provider(slug: str) -> Provider:
    provider = PROVIDERS.get(slug)
    if provider is None:
        raise Http404("no such provider")
    return provider


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    context = {"providers": SERVICES.values(), "anchorid_site_name": _("Sample providers")}
    return render(request, "providersim/index.html", context)


@require_GET
@never_cache
def home(request: HttpRequest, slug: str) -> HttpResponse:
    provider = _provider(slug)
    customer = customers.current_customer(request.session, provider)
    changes = list(customer.changes.all()[:50]) if customer else []
    context = {"provider": provider, "customer": customer, "changes": changes, "anchorid_site_name": provider.name}
    return render(request, "providersim/home.html", context)


@require_POST
def signup(request: HttpRequest, slug: str) -> HttpResponse:
    provider = _provider(slug)
    try:  # each sign-up a stranger starts is a session row here and a pushed request at the idp: capped
        anonymous_rows.cap(request, "rp-login")
    except RateLimited as limited:
        return anonymous_rows.limited_page(request, limited, back=f"/{slug}/")
    try:
        return HttpResponseRedirect(customers.begin_signup(request.session, provider))
    except LoginError as error:
        log.warning("%s: sign-up could not start: %s", slug, error.code)
        messages.error(request, _("AnchorID could not be reached. Please try again later."))
        return redirect("providersim_home", slug=slug)


@require_GET
def callback(request: HttpRequest, slug: str) -> HttpResponse:
    provider = _provider(slug)
    try:
        customers.complete_signup(request.session, provider, request.build_absolute_uri())
    except LoginError as error:
        log.info("%s: sign-up refused: %s", slug, error.code)
        if error.code == "access_denied":
            messages.info(request, _("You did not sign up."))
        elif error.code == "address_required":
            messages.error(request, _("We need your address to open a contract."))
        else:
            messages.error(request, _("The sign-up did not succeed. Please try again."))
        return redirect("providersim_home", slug=slug)
    messages.success(request, _("You are signed in with AnchorID."))
    return redirect("providersim_home", slug=slug)


@require_POST
def logout(request: HttpRequest, slug: str) -> HttpResponse:
    customers.log_out(request.session, _provider(slug))
    messages.success(request, _("You have logged out."))
    return redirect("providersim_home", slug=slug)


@csrf_exempt  # server to server: the idp posts a signed SET with the stream's authorization, no cookie
@never_cache
def events(request: HttpRequest, slug: str) -> HttpResponse:
    provider = _provider(slug)
    return handle_push(request, customers.receiver(provider.slug))


@require_GET
def jwks(request: HttpRequest, slug: str) -> HttpResponse:
    if slug not in SERVICES:
        raise Http404("no such provider")
    path = SERVICES[slug].data_dir(DATA_DIR) / JWKS_FILE
    if not path.exists():
        raise Http404("not set up")
    return HttpResponse(path.read_bytes(), content_type="application/jwk-set+json")
