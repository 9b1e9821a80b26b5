"""The health points app's pages (``<origin>/health/``, docs/health-points.md): log in with AnchorID, record
walking, see points, link to the local currency (the idp's link consent page) and award points to the wallet."""

from __future__ import annotations

import datetime
import logging
import secrets

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from anchorid.common import anonymous_rows
from anchorid.common.ratelimit import RateLimited
from anchorid.common.rp.client import LoginError, PendingLogin
from anchorid.providersim import health_points
from anchorid.providersim.health_points import AwardError
from anchorid.providersim.models import Award, Walker, WalkingDay
from anchorid.providersim.providers import HEALTH

log = logging.getLogger(__name__)
SUB_KEY = "providersim_health_sub"
PENDING_KEY = "providersim_health_pending"
LINK_STATE_KEY = "providersim_health_link_state"
HOME = "providersim_health_home"

#: What a refusal means, in words (the codes themselves are never shown).
REASONS = {
    "invalid_steps": gettext_lazy("Enter the steps as a whole number from 0 to 100,000."),
    "invalid_day": gettext_lazy("Choose today or a day in the last month."),
    "already_awarded": gettext_lazy("Those points were already sent to your wallet; the steps cannot go lower."),
    "invalid_points": gettext_lazy("Enter a whole number of points."),
    "not_enough_points": gettext_lazy("You do not have that many points."),
}


def _reason(code: str) -> str:
    reason = REASONS.get(code)
    return str(reason) if reason else _("The request could not be completed.")


def _walker(request: HttpRequest) -> Walker | None:
    sub = request.session.get(SUB_KEY)
    return Walker.objects.filter(sub=sub).first() if sub else None


@require_GET
@never_cache
def home(request: HttpRequest) -> HttpResponse:
    return _home_page(request)


def _home_page(request: HttpRequest, status: int = 200) -> HttpResponse:
    """The app's page (also the answer to a refused form: ``home`` itself answers GET only)."""
    walker = _walker(request)
    context: dict[str, object] = {"provider": HEALTH, "anchorid_site_name": HEALTH.name, "walker": walker}
    if walker is not None:
        context.update(
            days=list(WalkingDay.objects.filter(walker=walker)[:31]),
            awards=list(Award.objects.filter(walker=walker)[:20]),
            earned=health_points.earned(walker),
            available=health_points.available(walker),
            today=timezone.localdate().isoformat(),
            earliest=(timezone.localdate() - datetime.timedelta(days=health_points.MAX_DAYS_BACK)).isoformat(),
        )
    return render(request, "providersim/health.html", context, status=status)


@require_POST
def login(request: HttpRequest) -> HttpResponse:
    try:  # each login a stranger starts is a session row here and a pushed request at the idp: capped
        anonymous_rows.cap(request, "rp-login")
    except RateLimited as limited:
        return anonymous_rows.limited_page(request, limited, back="/health/")
    try:
        url, pending = health_points.client().start_login()
    except LoginError as error:
        log.warning("health: login could not start: %s", error.code)
        messages.error(request, _("AnchorID could not be reached. Please try again later."))
        return redirect(HOME)
    request.session[PENDING_KEY] = pending.as_dict()
    return HttpResponseRedirect(url)


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """The return from the idp: a login (code) or a link consent (``link=approved|denied``)."""
    if "link" in request.GET:
        return _link_returned(request)
    pending = request.session.pop(PENDING_KEY, None)
    try:
        if not pending:
            raise LoginError("invalid_state", "no login was started in this browser")
        done = health_points.client().finish_login(request.build_absolute_uri(), PendingLogin.from_dict(pending))
    except LoginError as error:
        log.info("health: login refused: %s", error.code)
        if error.code == "access_denied":
            messages.info(request, _("You did not log in."))
        else:
            messages.error(request, _("The login did not succeed. Please try again."))
        return redirect(HOME)
    walker = health_points.join(str(done.id_token_claims["sub"]), done.token)
    request.session.cycle_key()
    request.session[SUB_KEY] = walker.sub
    messages.success(request, _("You are logged in with AnchorID."))
    return redirect(HOME)


def _link_returned(request: HttpRequest) -> HttpResponse:
    expected = request.session.pop(LINK_STATE_KEY, None)
    state = request.GET.get("state", "")
    if not expected or not secrets.compare_digest(str(expected), state):
        messages.error(request, _("This link answer was not for this browser."))
    elif request.GET.get("link") == "approved":
        messages.success(request, _("Linked: you can now send your points to your Kamakura Coin wallet."))
    else:
        messages.info(request, _("You did not link the services."))
    return redirect(HOME)


@require_POST
def link(request: HttpRequest) -> HttpResponse:
    if _walker(request) is None:
        return redirect(HOME)
    state = secrets.token_urlsafe(16)
    request.session[LINK_STATE_KEY] = state
    try:
        return HttpResponseRedirect(health_points.link_url(state))
    except LoginError:
        messages.error(request, _("AnchorID could not be reached. Please try again later."))
        return redirect(HOME)


def _int(raw: str) -> int | None:
    text = (raw or "").strip().replace(",", "")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 7 else None


@require_POST
def walk(request: HttpRequest) -> HttpResponse:
    walker = _walker(request)
    if walker is None:
        return redirect(HOME)
    steps = _int(request.POST.get("steps", ""))
    try:
        day = datetime.date.fromisoformat(request.POST.get("day", ""))
    except ValueError:
        day = None
    try:
        if steps is None:
            raise AwardError("invalid_steps")
        if day is None:
            raise AwardError("invalid_day")
        recorded = health_points.record_walk(walker, day, steps)
    except AwardError as error:
        messages.error(request, _reason(error.code))
        return render_home_with_status(request, 400)
    messages.success(request, _("Recorded: %(points)s points.") % {"points": recorded.points})
    return redirect(HOME)


def render_home_with_status(request: HttpRequest, status: int) -> HttpResponse:
    return never_cache(_home_page)(request, status)


@require_POST
def award(request: HttpRequest) -> HttpResponse:
    walker = _walker(request)
    if walker is None:
        return redirect(HOME)
    points = _int(request.POST.get("points", ""))
    try:
        if points is None:
            raise AwardError("invalid_points")
        made = health_points.new_award(walker, points)
    except AwardError as error:
        messages.error(request, _reason(error.code))
        return render_home_with_status(request, 400)
    delivered = health_points.deliver(made)
    if delivered.state == Award.DONE:
        messages.success(request, _("Sent to your Kamakura Coin wallet."))
    elif delivered.state == Award.PENDING:
        messages.info(request, _("Kamakura Coin did not answer; we will send it again shortly."))
    elif delivered.state == Award.REFUSED and delivered.outcome in health_points.NO_LINK:
        messages.error(request, _("Kamakura Coin is not linked (or the link was withdrawn). Link it first."))
    elif delivered.outcome == "monthly_cap_exceeded":
        messages.error(request, _("This would go over the monthly limit you agreed to."))
    elif delivered.outcome == "not_a_member":
        messages.error(request, _("Open your Kamakura Coin wallet first (log in there once)."))
    else:
        messages.error(request, _("Kamakura Coin refused the points."))
    return redirect(HOME)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    request.session.pop(SUB_KEY, None)
    request.session.cycle_key()
    messages.success(request, _("You have logged out."))
    return redirect(HOME)
