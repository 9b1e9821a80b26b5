"""The platform's pages. Thin: every rule lives in ``service`` and ``permissions``; a refused action is a 4xx page
with the reason and writes nothing."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from anchorid.common import anonymous_rows
from anchorid.common.ratelimit import Limit, RateLimited, client_ip, hit
from anchorid.common.rp.client import LoginError
from anchorid.common.settings_base import DATA_DIR
from anchorid.participation import city_map, email_notices, identity, meetings, permissions, service, surveys
from anchorid.participation import login as anchorid_login
from anchorid.participation.identity import Participant
from anchorid.participation.models import Comment, Debate, Meeting, Notification, Process, Proposal, Survey

log = logging.getLogger(__name__)

#: Anonymous posts (ideas, comments, debates): per address and per pseudonymous session.
ANONYMOUS_PER_IP = Limit("participation-anonymous-ip", attempts=30, window_seconds=600)
ANONYMOUS_PER_SESSION = Limit("participation-anonymous-session", attempts=10, window_seconds=600)
RECEIPT_COOKIE, RECEIPT_SALT = "participation_receipt", "anchorid.participation.receipt"
SITE = {"anchorid_site_name": "鎌倉市 みんなの参加", "anchorid_party": "Participation"}


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    participant = identity.current(request.session)
    unread = Notification.objects.filter(participant_key=participant.key, read=False).count() if participant else 0
    return {**SITE, "participant": participant, "unread": unread, **extra}


def _refused(request: HttpRequest, message: str, *, status: int = 403, back: str = "/") -> HttpResponse:
    return render(request, "participation/refused.html", _context(request, message=message, back=back), status=status)


def _actor(request: HttpRequest, process: Process, action: str) -> Participant:
    """The participant for ``action``: the login, else (when the action is open to anyone) the anonymous pseudonym
    of this session, made on first use and rate-limited."""
    participant = identity.current(request.session)
    if participant is None or not participant.logged_in:
        permissions.check(process, action, None)  # needs a login: refused before any row or pseudonym is made
        hit(ANONYMOUS_PER_IP, client_ip(request))
        participant = identity.anonymous(request.session)
        hit(ANONYMOUS_PER_SESSION, participant.key)
    return participant


def _act(request: HttpRequest, back: str, do: Any) -> HttpResponse:
    try:
        do()
    except permissions.NotAllowed as refused:
        return _refused(request, refused.message, back=back)
    except service.Invalid as invalid:
        return _refused(request, str(invalid), status=400, back=back)
    except RateLimited as limited:
        return anonymous_rows.limited_page(request, limited, back=back)
    return redirect(back)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    processes = Process.objects.order_by("id")
    return render(request, "participation/home.html", _context(request, processes=processes))


def _process(slug: str) -> Process:
    """The process without its published ballot document (which may hold every ballot: read only by ballots.json)."""
    return get_object_or_404(Process.objects.defer("published_document"), slug=slug)


@require_GET
def process_page(request: HttpRequest, slug: str) -> HttpResponse:
    process = _process(slug)
    participant = identity.current(request.session)
    proposals = [(p, service.supports_by_assurance(p)) for p in process.proposals.filter(hidden=False)
                 .exclude(status__in=("withdrawn", "merged"))]  # fmt: skip
    rules = [(action, permissions.action_label(action), permissions.describe(process, action))
             for action in permissions.ACTIONS]  # fmt: skip
    context = _context(request, process=process, proposals=proposals, rules=rules,
                       open_actions=permissions.actions_in_phase(process), weights=permissions.weights(process),
                       phases=Process._meta.get_field("phase").choices, debates=process.debates.all(),
                       surveys=process.surveys.all(), meetings=process.meetings.all(),
                       voted=service.has_voted(process, participant))  # fmt: skip
    return render(request, "participation/process.html", context)


@require_POST
def propose(request: HttpRequest, slug: str) -> HttpResponse:
    process = _process(slug)
    back = f"/processes/{slug}/"
    return _act(
        request,
        back,
        lambda: service.propose(
            process,
            _actor(request, process, "propose"),
            request.POST.get("title", ""),
            request.POST.get("body", ""),
            location=(request.POST.get("latitude", ""), request.POST.get("longitude", "")),
        ),
    )


@require_POST
def start_debate(request: HttpRequest, slug: str) -> HttpResponse:
    process = _process(slug)
    return _act(
        request,
        f"/processes/{slug}/",
        lambda: service.start_debate(
            process, _actor(request, process, "debate"), request.POST.get("title", ""), request.POST.get("body", "")
        ),
    )


def _comments(**where: Any) -> list[tuple[Comment, int]]:
    """Threaded: each comment after its parent, with its depth (hidden ones stay as a placeholder)."""
    rows = list(Comment.objects.filter(**where).order_by("id"))
    children: dict[int | None, list[Comment]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    ordered: list[tuple[Comment, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for child in children.get(parent, []):
            ordered.append((child, min(depth, 4)))
            walk(child.pk, depth + 1)

    walk(None, 0)
    return ordered


@require_GET
def proposal_page(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(Proposal.objects.select_related("process"), pk=pk)
    if proposal.hidden:
        return _refused(request, _("A moderator hid this proposal. Reason: %(r)s") % {"r": proposal.hidden_reason},
                        status=410, back=f"/processes/{proposal.process.slug}/")  # fmt: skip
    participant = identity.current(request.session)
    context = _context(request, proposal=proposal, process=proposal.process, comments=_comments(proposal=proposal),
                       supports=service.supports_by_assurance(proposal),
                       open_actions=permissions.actions_in_phase(proposal.process),
                       mine=participant is not None and participant.key == proposal.author_key,
                       merged_into=proposal.merged_into if proposal.status == "merged" else None,
                       map=city_map.drawing(proposal.latitude, proposal.longitude)
                       if proposal.latitude is not None and proposal.longitude is not None else None)  # fmt: skip
    return render(request, "participation/proposal.html", context)


def _proposal(pk: int) -> Proposal:
    return get_object_or_404(Proposal.objects.select_related("process"), pk=pk, hidden=False)


@require_POST
def support(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _proposal(pk)
    participant = identity.current(request.session)
    return _act(
        request, f"/proposals/{pk}/", lambda: service.support(proposal, _need(proposal.process, participant, "support"))
    )


def _need(process: Process, participant: Participant | None, action: str) -> Participant:
    permissions.check(process, action, participant)
    assert participant is not None
    return participant


def _parent(raw: str) -> Comment | None:
    if not raw:
        return None
    if not raw.isdigit():
        raise service.Invalid(_("The comment you reply to is not on this page."))
    found = Comment.objects.filter(pk=int(raw)).first()
    if found is None:
        raise service.Invalid(_("The comment you reply to is not on this page."))
    return found


@require_POST
def comment_on_proposal(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _proposal(pk)
    return _act(request, f"/proposals/{pk}/", lambda: service.comment(
        _actor(request, proposal.process, "comment"), request.POST.get("body", ""), proposal=proposal,
        parent=_parent(request.POST.get("parent", ""))))  # fmt: skip


@require_http_methods(["GET", "POST"])
def debate_page(request: HttpRequest, pk: int) -> HttpResponse:
    debate = get_object_or_404(Debate.objects.select_related("process"), pk=pk)
    if request.method == "POST":
        return _act(request, f"/debates/{pk}/", lambda: service.comment(
            _actor(request, debate.process, "comment"), request.POST.get("body", ""), debate=debate,
            parent=_parent(request.POST.get("parent", ""))))  # fmt: skip
    context = _context(request, debate=debate, process=debate.process, comments=_comments(debate=debate),
                       open_actions=permissions.actions_in_phase(debate.process))  # fmt: skip
    return render(request, "participation/debate.html", context)


@require_POST
def vote_comment(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(Comment.objects.select_related("proposal__process", "debate__process"), pk=pk)
    back = f"/proposals/{found.proposal_id}/" if found.proposal_id else f"/debates/{found.debate_id}/"
    process = found.proposal.process if found.proposal else found.debate.process  # type: ignore[union-attr]
    value = {"up": 1, "down": -1}.get(request.POST.get("value", ""), 0)
    return _act(request, back, lambda: service.vote_comment(found, _actor(request, process, "comment"), value))


@require_POST
def edit_proposal(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _proposal(pk)
    participant = identity.current(request.session)
    if participant is None:
        return _refused(request, _("Only the author may edit an open proposal."), back=f"/proposals/{pk}/")
    return _act(request, f"/proposals/{pk}/", lambda: service.edit(
        proposal, participant, request.POST.get("title", ""), request.POST.get("body", "")))  # fmt: skip


@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _proposal(pk)
    participant = identity.current(request.session)
    if participant is None:
        return _refused(request, _("Only the author may withdraw an open proposal."), back=f"/proposals/{pk}/")
    return _act(request, f"/proposals/{pk}/", lambda: service.withdraw(proposal, participant))


@require_POST
def report(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _proposal(pk)
    back = f"/proposals/{pk}/"

    def do() -> None:
        hit(ANONYMOUS_PER_IP, client_ip(request))
        participant = identity.anonymous(request.session)
        target = _parent(request.POST.get("comment", ""))
        if target is not None and target.proposal_id != proposal.pk:
            raise service.Invalid(_("The comment you reply to is not on this page."))
        service.report(participant, request.POST.get("reason", ""), proposal=None if target else proposal,
                       comment_=target)  # fmt: skip
        messages.success(request, _("Thank you. A moderator will look at it."))

    return _act(request, back, do)


@require_http_methods(["GET", "POST"])
@never_cache
def vote(request: HttpRequest, slug: str) -> HttpResponse:
    """The vote page and the vote button. The POST is the platform's hot path: the process comes from this worker's
    snapshot (``service.vote_snapshot``), the session is read (never written, for a login), and the vote is one
    statement on PostgreSQL (``service.cast``); tests/participation/test_vote_statements.py pins the count."""
    process = service.vote_snapshot(slug)
    if process is None:
        raise Http404("no such process")
    participant = identity.current(request.session)
    back = f"/processes/{slug}/vote/"
    try:
        permissions.check(process, "vote", participant)
    except permissions.NotAllowed as refused:
        if request.method == "GET" and refused.needs_login and participant is None:  # to the page with the login
            messages.info(request, refused.message)
            return redirect(f"/processes/{slug}/")
        return _refused(request, refused.message, back=f"/processes/{slug}/")
    if request.method == "POST":
        try:
            choices = service.parse_choices(request.POST.getlist("option"))
            ballot_id = service.cast(process.pk, _actor(request, process, "vote"), choices, process=process)
        except permissions.NotAllowed as refused:
            return _refused(request, refused.message, back=back)
        except service.Invalid as invalid:
            return _refused(request, str(invalid), status=400, back=back)
        except RateLimited as limited:
            return anonymous_rows.limited_page(request, limited, back=back)
        # POST, redirect, GET: a reload of the receipt never votes again. The receipt travels in a signed cookie to
        # this browser only (never stored on the server beside the session that names the voter).
        response = HttpResponseRedirect(f"/processes/{slug}/receipt/")
        response.set_signed_cookie(RECEIPT_COOKIE, ballot_id, salt=RECEIPT_SALT, max_age=600, httponly=True,
                                   samesite="Lax", secure=request.is_secure(), path=f"/processes/{slug}/")  # fmt: skip
        return response
    context = _context(request, process=process, options=service.options(process),
                       voted=service.has_voted(process, participant),
                       weights=permissions.weights(process))  # fmt: skip
    return render(request, "participation/vote.html", context)


@require_GET
@never_cache
def receipt(request: HttpRequest, slug: str) -> HttpResponse:
    """The receipt of the vote this browser just cast (from its signed cookie), shown once."""
    process = _process(slug)
    ballot_id = request.get_signed_cookie(RECEIPT_COOKIE, default=None, salt=RECEIPT_SALT, max_age=600)
    if not ballot_id:
        return redirect(f"/processes/{slug}/")
    context = {**SITE, "participant": identity.current(request.session), "unread": 0}
    response = render(request, "participation/receipt.html", {**context, "process": process, "ballot_id": ballot_id})
    response.delete_cookie(RECEIPT_COOKIE, path=f"/processes/{slug}/")
    return response


@require_GET
def results(request: HttpRequest, slug: str) -> HttpResponse:
    process = _process(slug)
    if process.phase not in ("results", "followup"):
        return _refused(request, _("Results are shown once the vote has closed."), status=404,
                        back=f"/processes/{slug}/")  # fmt: skip
    result = service.live_result(process)
    titles = {p.pk: p for p in process.proposals.all()}
    rows = [{"proposal": titles.get(row["option"]), **row, "won": row["option"] in result["winners"]}
            for row in sorted(result["options"], key=lambda row: result["ranking"].index(row["option"]))]  # fmt: skip
    winners = [titles[w] for w in result["winners"] if w in titles]
    context = _context(request, process=process, result=result, rows=rows, winners=winners,
                       weights=permissions.weights(process))  # fmt: skip
    return render(request, "participation/results.html", context)


@require_GET
def ballots_json(request: HttpRequest, slug: str) -> HttpResponse:
    process = get_object_or_404(Process, slug=slug)
    if not process.published_document:
        raise Http404("not published")
    return JsonResponse(process.published_document, json_dumps_params={"ensure_ascii": False})


@require_GET
def open_data(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    process = _process(slug)
    if fmt not in ("json", "csv"):
        raise Http404("json or csv")
    if fmt == "csv":
        response = HttpResponse(service.open_data_csv(process), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{process.slug}.csv"'
        return response
    return JsonResponse(service.open_data(process), json_dumps_params={"ensure_ascii": False})


@require_GET
def tally_keys(request: HttpRequest) -> HttpResponse:
    return JsonResponse(service.tally_public_jwks(DATA_DIR))


@require_http_methods(["GET", "POST"])
def survey_page(request: HttpRequest, pk: int) -> HttpResponse:
    survey = get_object_or_404(Survey.objects.select_related("process"), pk=pk)
    back = f"/surveys/{pk}/"
    if request.method == "POST":

        def do() -> None:
            surveys.respond(survey, _actor(request, survey.process, "survey"), request.POST)
            messages.success(request, _("Thank you. Your answers are recorded."))

        response = _act(request, back, do)
        return redirect(f"/surveys/{pk}/results/") if response.status_code == 302 else response
    participant = identity.current(request.session)
    context = _context(request, survey=survey, process=survey.process, questions=survey.questions.all(),
                       open_actions=permissions.actions_in_phase(survey.process),
                       who=permissions.describe(survey.process, "survey"),
                       answered=surveys.has_responded(survey, participant))  # fmt: skip
    return render(request, "participation/survey.html", context)


@require_GET
def meeting_page(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = get_object_or_404(Meeting.objects.select_related("process"), pk=pk)
    participant = identity.current(request.session)
    context = _context(request, meeting=meeting, process=meeting.process, taken=meeting.registrations.count(),
                       registered=meetings.is_registered(meeting, participant),
                       open_actions=permissions.actions_in_phase(meeting.process),
                       who=permissions.describe(meeting.process, "attend"))  # fmt: skip
    return render(request, "participation/meeting.html", context)


@require_POST
def meeting_register(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = get_object_or_404(Meeting.objects.select_related("process"), pk=pk)
    participant = identity.current(request.session)
    back = f"/meetings/{pk}/"
    if request.POST.get("cancel"):
        if participant is None:
            return _refused(request, _("You are not registered for this meeting."), status=400, back=back)
        return _act(request, back, lambda: meetings.cancel(meeting, participant))
    return _act(request, back, lambda: meetings.register(meeting, _actor(request, meeting.process, "attend")))


@require_GET
def survey_results(request: HttpRequest, pk: int) -> HttpResponse:
    survey = get_object_or_404(Survey.objects.select_related("process"), pk=pk)
    context = _context(request, survey=survey, process=survey.process, results=surveys.results(survey))
    return render(request, "participation/survey_results.html", context)


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    return render(request, "participation/search.html",
                  _context(request, query=query[:100], found=service.search(query)))  # fmt: skip


@require_GET
@never_cache
def notifications(request: HttpRequest) -> HttpResponse:
    participant = identity.current(request.session)
    rows = list(Notification.objects.filter(participant_key=participant.key)[:50]) if participant else []
    response = render(request, "participation/notifications.html",
                      _context(request, rows=rows, email=email_notices.mine(participant)))  # fmt: skip
    if participant:
        Notification.objects.filter(participant_key=participant.key, read=False).update(read=True)
    return response


@require_POST
def email_address(request: HttpRequest) -> HttpResponse:
    """Give (``address``) or remove (``remove``) the address for e-mail notifications: opt-in, for whoever has
    notifications (a login, or an anonymous session that posted)."""
    participant = identity.current(request.session)
    if participant is None:
        return _refused(request, _("Take part first: notifications are about your posts and what you follow."),
                        back="/notifications/")  # fmt: skip

    def do() -> None:
        if request.POST.get("remove"):
            email_notices.remove(participant)
            messages.success(request, _("Your e-mail address is removed. No more e-mails are sent."))
            return
        if not participant.logged_in:
            hit(ANONYMOUS_PER_SESSION, participant.key)
        email_notices.give(participant, request.POST.get("address", ""))
        messages.success(request, _("We sent a link to this address. Open it to start receiving e-mails."))

    return _act(request, "/notifications/", do)


@require_GET
def email_verify(request: HttpRequest, token: str) -> HttpResponse:
    if email_notices.verify(token):
        messages.success(request, _("Your e-mail address is confirmed."))
        return redirect("/notifications/")
    return _refused(request, _("This link is not valid (used already, or older than a day). Give your address "
                               "again to get a new one."), status=400, back="/notifications/")  # fmt: skip


@require_POST
def login(request: HttpRequest) -> HttpResponse:
    try:
        anonymous_rows.cap(request, "rp-login")
    except RateLimited as limited:
        return anonymous_rows.limited_page(request, limited, back="/")
    nxt = request.POST.get("next", "/")
    request.session["participation_next"] = nxt if nxt.startswith("/") and not nxt.startswith("//") else "/"
    try:
        return HttpResponseRedirect(anchorid_login.begin_login(request.session))
    except LoginError as error:
        log.warning("login could not start: %s", error.code)
        messages.error(request, _("AnchorID could not be reached. Please try again later."))
        return redirect("/")


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    nxt = request.session.get("participation_next", "/")
    try:
        anchorid_login.complete_login(request.session, request.build_absolute_uri())
    except LoginError as error:
        log.info("login refused: %s", error.code)
        messages.error(request, _("The login did not succeed. Please try again."))
        return redirect("/")
    messages.success(request, _("You are logged in with AnchorID."))
    return redirect(nxt)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    try:
        url = anchorid_login.end_session(request.session)
    except LoginError:
        return redirect("/")
    return HttpResponseRedirect(url) if url else redirect("/")


@require_GET
def logged_out(request: HttpRequest) -> HttpResponse:
    return redirect("/")
