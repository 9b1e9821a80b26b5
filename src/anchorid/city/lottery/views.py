"""The lottery's pages for everyone (rounds, the commitment, results, the audit document) and for logged-in
residents (enter with ranked choices, withdraw, confirm a win, book in the second round through facility booking).
Refusals are shown as a message on the round page and store nothing."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from anchorid.city.booking.models import CityUser
from anchorid.city.booking.views import current_user
from anchorid.city.lottery import service
from anchorid.city.lottery.models import Entry, LotteryRound
from anchorid.city.lottery.service import LotteryError


def _site(context: dict[str, Any]) -> dict[str, Any]:
    context.setdefault("anchorid_site_name", _("Kamakura City"))
    context.setdefault("language", get_language())
    return context


def _public_round(round_id: int) -> LotteryRound:
    """Rounds are public once their seed is committed; a draft round does not exist for residents."""
    return get_object_or_404(LotteryRound, pk=round_id, committed_at__isnull=False)


@require_GET
def rounds(request: HttpRequest) -> HttpResponse:
    listed = LotteryRound.objects.filter(committed_at__isnull=False).order_by("-entries_open_at")[:50]
    return render(request, "lottery/rounds.html", _site({"rounds": listed}))


@require_GET
@never_cache
def round_page(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = _public_round(round_id)
    now = timezone.now()
    if round_.drawn_at and not round_.released_at and now > round_.confirm_by:
        # On access, like expired bookings: nobody waits for the periodic sweep to see the second round.
        service.release_unconfirmed(round_, now=now)
        round_.refresh_from_db()
    user = current_user(request)
    round_slots = list(round_.round_slots.select_related("slot__facility"))
    my_entries: list[Entry] = []
    allowed = 0
    if user is not None:
        my_entries = list(
            Entry.objects.filter(round=round_, user=user).select_related("booking", "won_slot__slot__facility")
            .prefetch_related("choices__round_slot__slot__facility")
        )  # fmt: skip
        allowed = service.entries_allowed(round_, user)
    accepting = round_.phase == "committed" and round_.entries_open_at <= now < round_.entries_close_at
    context = {
        "round": round_,
        "title": round_.title(get_language()),
        "round_slots": round_slots,
        "user": user,
        "my_entries": my_entries,
        "entries_allowed": allowed,
        "can_enter": accepting and user is not None and len(my_entries) < allowed,
        "accepting": accepting,
        "ranks": range(1, round_.max_choices + 1),
        "second_round": service.second_round_slots(round_),
        "wins_count": Entry.objects.filter(round=round_, won_slot__isnull=False).count(),
        "entries_count": Entry.objects.filter(round=round_).count(),
        "now": now,
    }
    return render(request, "lottery/round.html", _site(context))


@require_GET
def audit_json(request: HttpRequest, round_id: int) -> JsonResponse:
    document = service.audit_document(_public_round(round_id))
    return JsonResponse(document, json_dumps_params={"ensure_ascii": False, "indent": 1})


def _resident(request: HttpRequest) -> CityUser:
    user = current_user(request)
    if user is None:
        raise Http404
    return user


@require_POST
def enter(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = _public_round(round_id)
    user = current_user(request)
    if user is None:
        messages.info(request, _("Please log in with AnchorID to enter the lottery."))
        return redirect("city_home")
    # ranked choices arrive as choice_1, choice_2, ...; blanks are skipped, the order kept
    keys = sorted((key for key in request.POST if key.startswith("choice_")), key=_rank_of)
    if any(_rank_of(key) == 0 for key in keys):
        messages.error(request, _("The form was not understood. Please try again."))
        return redirect("lottery_round", round_id=round_.pk)
    chosen = [request.POST[key] for key in keys if request.POST[key].strip()]
    try:
        entry = service.enter(round_, user, chosen)
    except LotteryError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Your entry %(entry)s is recorded.") % {"entry": entry.public_id})
    return redirect("lottery_round", round_id=round_.pk)


def _rank_of(key: str) -> int:
    suffix = key.removeprefix("choice_")
    return int(suffix) if suffix.isdigit() and 0 < int(suffix) <= 99 else 0


def _own_entry(request: HttpRequest, public_id: str) -> tuple[CityUser, Entry]:
    user = _resident(request)
    entry = Entry.objects.select_related("round").filter(public_id=public_id, user=user).first()
    if entry is None:
        raise Http404
    return user, entry


@require_POST
def withdraw(request: HttpRequest, public_id: str) -> HttpResponse:
    user, entry = _own_entry(request, public_id)
    try:
        service.withdraw(entry, user)
    except LotteryError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Your entry was withdrawn."))
    return redirect("lottery_round", round_id=entry.round_id)


@require_POST
def confirm(request: HttpRequest, public_id: str) -> HttpResponse:
    user, entry = _own_entry(request, public_id)
    try:
        booking = service.confirm_win(entry, user)
    except LotteryError as error:
        messages.error(request, str(error))
        return redirect("lottery_round", round_id=entry.round_id)
    messages.success(request, _("You took the slot you won. Please pay by the deadline."))
    return redirect("booking_detail", reference=booking.reference)
