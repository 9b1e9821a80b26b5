"""The library's resident pages: home, login with AnchorID (registration in one step), catalogue, borrowing,
holds, notices; the reader and its content; back-channel logout and JWKS."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from anchorid.common import anonymous_rows, untrusted_json
from anchorid.common.ratelimit import RateLimited
from anchorid.common.rp.client import LoginError, PendingLogin
from anchorid.library import catalogue, circulation, content, covers, rp
from anchorid.library.models import Hold, Loan, Notice, Patron, ReadingState, Title

log = logging.getLogger(__name__)

PENDING = "library_pending"
PATRON = "library_patron"
UNREGISTERED = "library_unregistered"
ID_TOKEN = "library_id_token"  # noqa: S105 (a session key, not a secret)
CFI = re.compile(r"^epubcfi\([\x20-\x7e]{1,480}\)$")
MAX_BOOKMARKS = 100

View = Callable[..., HttpResponse]


def current_patron(request: HttpRequest) -> Patron | None:
    patron_id = request.session.get(PATRON)
    return Patron.objects.filter(pk=patron_id).first() if patron_id else None


def patron_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        patron = current_patron(request)
        if patron is None:
            if request.headers.get("Accept", "").startswith("application/json") or request.path.startswith("/api/"):
                return JsonResponse({"error": "login_required"}, status=403)
            messages.info(request, _("Please log in with AnchorID first."))
            return redirect("library_home")
        request.patron = patron  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def _page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    context.setdefault("anchorid_site_name", _("Kamakura e-Library"))
    context.setdefault("patron", current_patron(request))
    return render(request, template, context, status=status)


@require_GET
@never_cache
def home(request: HttpRequest) -> HttpResponse:
    patron = current_patron(request)
    context: dict[str, Any] = {
        "arrivals": catalogue.new_arrivals(limit=10),
        "ndc_classes": sorted(catalogue.NDC_CLASSES.items()),
        "unregistered": request.session.get(UNREGISTERED) is not None,
    }
    if patron is not None:
        now = timezone.now()
        context["loans"] = list(
            Loan.objects.filter(patron=patron, status=Loan.Status.ACTIVE, due_at__gt=now).select_related("title")
        )
        context["holds"] = list(
            Hold.objects.filter(patron=patron, status__in=[Hold.Status.WAITING, Hold.Status.READY]).select_related(
                "title"
            )
        )
        context["notices"] = list(Notice.objects.filter(patron=patron).select_related("title").order_by("-id")[:10])
        context["rule"] = circulation.rule_for(patron.category)
    return _page(request, "library/home.html", context)


# -- login and registration ------------------------------------------------------------------------------------


@require_POST
def login(request: HttpRequest) -> HttpResponse:
    try:  # each login a stranger starts is a session row here and a pushed request at the idp: capped
        anonymous_rows.cap(request, "rp-login")
    except RateLimited as limited:
        return anonymous_rows.limited_page(request, limited, back="/")
    try:
        url, pending = rp.client().start_login()
    except LoginError as error:
        log.warning("login could not start: %s", error.code)
        messages.error(request, _("AnchorID could not be reached. Please try again later."))
        return redirect("library_home")
    request.session[PENDING] = pending.as_dict()
    return HttpResponseRedirect(url)


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    pending = request.session.pop(PENDING, None)
    try:
        if not pending:
            raise LoginError("invalid_state", "no login was started in this browser")
        done = rp.client().finish_login(request.build_absolute_uri(), PendingLogin.from_dict(pending))
    except LoginError as error:
        log.info("login refused: %s", error.code)
        if error.code == "access_denied":
            messages.info(request, _("You did not log in."))
        else:
            messages.error(request, _("The login did not succeed. Please try again."))
        return redirect("library_home")
    request.session.cycle_key()
    sub = str(done.id_token_claims["sub"])
    request.session[ID_TOKEN] = done.token["id_token"]
    claims = {"resident_of": done.userinfo.get("resident_of")}
    return _register(request, sub, claims)


def _register(request: HttpRequest, sub: str, claims: dict[str, object], code: str = "") -> HttpResponse:
    try:
        patron = circulation.register(sub, claims, grant_code=code)
    except circulation.NotEligible as refusal:
        request.session[UNREGISTERED] = {"sub": sub, "claims": claims}
        return _page(request, "library/refused.html", {"message": refusal.message, "code": refusal.code}, status=403)
    request.session.pop(UNREGISTERED, None)
    request.session[PATRON] = patron.pk
    created = (timezone.now() - patron.registered_at).total_seconds() < 60
    if created:
        messages.success(
            request, _("You are registered. Your library card number is %(card)s.") % {"card": patron.card_number}
        )
    else:
        messages.success(request, _("You are logged in with AnchorID."))
    return redirect("library_home")


@require_POST
def register_with_code(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(UNREGISTERED)
    if not pending:
        messages.info(request, _("Please log in with AnchorID first."))
        return redirect("library_home")
    code = request.POST.get("code", "").strip()[:40]
    return _register(request, str(pending["sub"]), dict(pending["claims"]), code or "-")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    id_token = request.session.get(ID_TOKEN)
    request.session.flush()
    if id_token:
        try:
            return HttpResponseRedirect(rp.client().logout_url(id_token, "library"))
        except LoginError:
            pass
    messages.success(request, _("You have logged out."))
    return redirect("library_home")


@require_GET
def logged_out(request: HttpRequest) -> HttpResponse:
    messages.success(request, _("You have logged out."))
    return redirect("library_home")


# -- my account ------------------------------------------------------------------------------------------------


@require_POST
@patron_required
def link_card(request: HttpRequest) -> HttpResponse:
    try:
        circulation.link_card(request.patron, request.POST.get("code", "")[:40])  # type: ignore[attr-defined]
    except circulation.CirculationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your library card is linked."))
    return redirect("library_home")


@require_POST
@patron_required
def set_email(request: HttpRequest) -> HttpResponse:
    email = request.POST.get("email", "").strip()[:254]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            messages.error(request, _("Please enter a valid e-mail address."))
            return redirect("library_home")
    Patron.objects.filter(pk=request.patron.pk).update(email=email)  # type: ignore[attr-defined]
    messages.success(request, _("Saved."))
    return redirect("library_home")


# -- catalogue -------------------------------------------------------------------------------------------------


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    try:
        titles = catalogue.search(query)
    except catalogue.BadQuery as error:
        return _page(request, "library/search.html", {"query": query[:100], "error": str(error)}, status=400)
    return _page(request, "library/search.html", {"query": query, "titles": titles, "searched": True})


@require_GET
def browse(request: HttpRequest, ndc: str) -> HttpResponse:
    try:
        titles = catalogue.browse(ndc)
    except catalogue.BadQuery as error:
        return _page(request, "library/search.html", {"error": str(error)}, status=400)
    label = catalogue.NDC_CLASSES[ndc]
    return _page(request, "library/search.html", {"titles": titles, "browse": f"{ndc} {label}", "searched": True})


def _title(title_id: int) -> Title:
    title = Title.objects.filter(pk=title_id).first()
    if title is None:
        raise Http404("no such title")
    return title


@require_GET
def title_detail(request: HttpRequest, title_id: int) -> HttpResponse:
    title = _title(title_id)
    patron = current_patron(request)
    context: dict[str, Any] = {"title": title, "availability": circulation.availability(title)}
    if patron is not None:
        context["loan"] = Loan.objects.filter(
            patron=patron, title=title, status=Loan.Status.ACTIVE, due_at__gt=timezone.now()
        ).first()
        context["hold"] = Hold.objects.filter(
            patron=patron, title=title, status__in=[Hold.Status.WAITING, Hold.Status.READY]
        ).first()
    return _page(request, "library/title.html", context)


#: A cover may be kept by browsers and shared caches for a day (covers are public: anchorid.library.covers).
COVER_CACHE = "public, max-age=86400"
#: Opened on its own, an SVG cover runs nothing and loads nothing; inside <img> an SVG never runs scripts anyway.
COVER_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


@require_GET
def cover(request: HttpRequest, title_id: int) -> HttpResponse:
    """The title's cover image: public (no login, no loan), cacheable, revalidated by its EPUB's content hash."""
    title = _title(title_id)
    etag = f'"{title.epub_file.removesuffix(".epub")}"'
    if title.epub_file and request.headers.get("If-None-Match") == etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        found = covers.cover(title)
        if found is None:
            raise Http404("no cover")
        response = HttpResponse(found.data, content_type=found.media_type)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = COVER_POLICY
    response["Cache-Control"] = COVER_CACHE
    response["ETag"] = etag
    return response


@require_POST
@patron_required
def borrow(request: HttpRequest, title_id: int) -> HttpResponse:
    title = _title(title_id)
    try:
        loan = circulation.borrow(request.patron, title.pk)  # type: ignore[attr-defined]
    except circulation.NotAvailable as busy:
        if busy.hold_offered:
            messages.info(request, _("All copies are on loan. You can place a hold."))
        else:
            messages.error(request, busy.message)
        return redirect("library_title", title_id=title.pk)
    except circulation.CirculationError as error:
        messages.error(request, error.message)
        return redirect("library_title", title_id=title.pk)
    messages.success(request, _("Borrowed. Enjoy reading."))
    return redirect("library_read", loan_id=loan.pk)


@require_POST
@patron_required
def hold(request: HttpRequest, title_id: int) -> HttpResponse:
    title = _title(title_id)
    try:
        placed = circulation.place_hold(request.patron, title.pk)  # type: ignore[attr-defined]
    except circulation.CirculationError as error:
        messages.error(request, error.message)
    else:
        if placed.status == Hold.Status.READY:
            messages.success(request, _("A copy is kept for you. Borrow it within the pickup days."))
        else:
            messages.success(request, _("Your hold is placed. We will tell you when it is ready."))
    return redirect("library_title", title_id=title.pk)


@require_POST
@patron_required
def cancel_hold(request: HttpRequest, hold_id: int) -> HttpResponse:
    try:
        circulation.cancel_hold(request.patron, hold_id)  # type: ignore[attr-defined]
    except circulation.CirculationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your hold is cancelled."))
    return redirect("library_home")


@require_POST
@patron_required
def return_loan(request: HttpRequest, loan_id: int) -> HttpResponse:
    try:
        circulation.return_loan(request.patron, loan_id)  # type: ignore[attr-defined]
    except circulation.CirculationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Returned. Thank you."))
    return redirect("library_home")


@require_POST
@patron_required
def renew(request: HttpRequest, loan_id: int) -> HttpResponse:
    try:
        circulation.renew(request.patron, loan_id)  # type: ignore[attr-defined]
    except circulation.CirculationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Renewed."))
    return redirect("library_home")


# -- the reader ------------------------------------------------------------------------------------------------

#: The reader page alone widens the policy: foliate-js renders each section in a sandboxed iframe from blob: URLs
#: (their styles and images too) and styles its own shadow DOM with a <style> element. Scripts stay 'self' only,
#: and the EPUB's documents inherit this policy, so a book's own scripts never run.
READER_POLICY = (
    "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'; "
    "script-src 'self'; style-src 'self' 'unsafe-inline' blob:; img-src 'self' blob: data:; font-src 'self' blob:; "
    "frame-src blob:; child-src blob:; connect-src 'self'"
)


def _own_loan(request: HttpRequest, loan_id: int) -> Loan:
    loan = Loan.objects.select_related("title").filter(pk=loan_id, patron=request.patron).first()  # type: ignore[attr-defined]
    if loan is None or not loan.is_readable():
        raise Http404("no active loan")
    return loan


@require_GET
@never_cache
@patron_required
def read(request: HttpRequest, loan_id: int) -> HttpResponse:
    loan = _own_loan(request, loan_id)
    response = _page(request, "library/reader.html", {"loan": loan, "title": loan.title})
    response["Content-Security-Policy"] = READER_POLICY
    return response


@require_GET
@never_cache
@patron_required
def reader_grant(request: HttpRequest, loan_id: int) -> HttpResponse:
    """A fresh signed base URL for the reader (JSON), with the reading position and bookmarks."""
    loan = Loan.objects.select_related("title").filter(pk=loan_id).first()
    try:
        if loan is None:
            raise content.Refused(403, "no active loan")
        given = content.grant(loan, request.patron)  # type: ignore[attr-defined]
    except content.Refused as refused:
        return JsonResponse({"error": "forbidden", "reason": refused.reason}, status=refused.status)
    state = ReadingState.objects.filter(patron=request.patron, title=loan.title).first()  # type: ignore[attr-defined]
    return JsonResponse(
        {
            "base": given.base,
            "expires": given.expires,
            "sizes": given.sizes,
            "due": loan.due_at.isoformat(),
            "position": state.position if state else "",
            "bookmarks": state.bookmarks if state else [],
            "vertical": loan.title.vertical,
        }
    )


@require_GET
@never_cache
def content_resource(request: HttpRequest, loan_id: int, expires: int, sig: str, name: str) -> HttpResponse:
    try:
        data, media_type = content.resource(loan_id, expires, sig, name, current_patron(request))
    except content.Refused as refused:
        return HttpResponse(refused.reason, status=refused.status, content_type="text/plain; charset=utf-8")
    response = HttpResponse(data, content_type=media_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"  # opened on its own it runs nothing
    return response


@require_POST
@never_cache
@patron_required
def reading_state(request: HttpRequest, loan_id: int) -> HttpResponse:
    """Save the position (an EPUB CFI) and bookmarks of the patron's active loan: JSON ``{"position": CFI,
    "bookmarks": [CFI, ...]}`` (either may be left out)."""
    loan = Loan.objects.filter(pk=loan_id, patron=request.patron).first()  # type: ignore[attr-defined]
    if loan is None or not loan.is_readable():
        return JsonResponse({"error": "forbidden"}, status=403)
    try:
        body = untrusted_json.loads(request.body, max_bytes=64 * 1024)
    except untrusted_json.UntrustedJsonError:
        body = None
    if not isinstance(body, dict):
        return JsonResponse({"error": "invalid_request", "error_description": "a JSON object"}, status=400)
    position = body.get("position")
    bookmarks = body.get("bookmarks")
    if position is None and bookmarks is None:
        return JsonResponse({"error": "invalid_request", "error_description": "position or bookmarks"}, status=400)
    if position is not None and (not isinstance(position, str) or not CFI.match(position)):
        return JsonResponse({"error": "invalid_request", "error_description": "position: an EPUB CFI"}, status=400)
    if bookmarks is not None and (
        not isinstance(bookmarks, list)
        or len(bookmarks) > MAX_BOOKMARKS
        or not all(isinstance(mark, str) and CFI.match(mark) for mark in bookmarks)
    ):
        return JsonResponse({"error": "invalid_request", "error_description": "bookmarks: EPUB CFIs"}, status=400)
    with transaction.atomic():
        try:
            state, _created = ReadingState.objects.select_for_update().get_or_create(
                patron_id=loan.patron_id, title_id=loan.title_id
            )
        except IntegrityError:
            state = ReadingState.objects.select_for_update().get(patron_id=loan.patron_id, title_id=loan.title_id)
        if position is not None:
            state.position = position
        if bookmarks is not None:
            state.bookmarks = list(dict.fromkeys(bookmarks))
        state.updated_at = timezone.now()
        state.save()
    return JsonResponse({"position": state.position, "bookmarks": state.bookmarks})
