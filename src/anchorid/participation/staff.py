"""Staff pages (Django staff accounts; log in at ``/admin/login/``): set up a process's phase, permissions and
weights (refused once voting opened), choose the ballot's options, the moderation queue (hide with a reason), progress
of winners, the stop / continue decision, the audit trail. Every action is a ``ModerationAction`` row."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from anchorid.participation import permissions, service, surveys
from anchorid.participation.models import Comment, Moderator, Process, Proposal, Report, SurveyAnswer
from anchorid.participation.views import SITE


def _may_moderate(request: HttpRequest, process: Process) -> bool:
    """Superusers, and staff named as a moderator of this process (all staff while a process names none)."""
    user = request.user
    if user.is_superuser:
        return True
    named = list(Moderator.objects.filter(process=process).values_list("username", flat=True))
    return not named or user.get_username() in named


@require_GET
@staff_member_required
def index(request: HttpRequest) -> HttpResponse:
    reports = Report.objects.filter(resolved=False).select_related("proposal", "comment").order_by("id")[:100]
    return render(request, "participation/staff_index.html",
                  {**SITE, "processes": Process.objects.order_by("id"), "reports": reports})  # fmt: skip


@require_GET
@staff_member_required
def process_page(request: HttpRequest, slug: str) -> HttpResponse:
    process = get_object_or_404(Process.objects.defer("published_document"), slug=slug)
    context = {
        **SITE,
        "process": process,
        "phases": Process._meta.get_field("phase").choices,
        "proposals": process.proposals.order_by("id"),
        "weights": permissions.weights(process),
        "weights_json": json.dumps(permissions.weights(process)),
        "audit": process.moderation_actions.order_by("-id")[:100],
        "may": _may_moderate(request, process),
        "surveys": [(survey, surveys.results(survey, with_hidden=True)) for survey in process.surveys.all()],
        "mergeable": process.proposals.filter(status="open", hidden=False).order_by("id"),
    }
    return render(request, "participation/staff_process.html", context)  # fmt: skip


def _do(request: HttpRequest, process: Process, action: Any) -> HttpResponse:
    back = f"/staff/{process.slug}/"
    if not _may_moderate(request, process):
        return render(request, "participation/refused.html", {**SITE, "message": _("You are not a moderator of this "
                      "process."), "back": "/staff/"}, status=403)  # fmt: skip
    try:
        action()
    except (service.Invalid, ValueError) as error:
        return render(request, "participation/refused.html", {**SITE, "message": str(error), "back": back}, status=400)
    return redirect(back)


def _int(raw: str) -> int:
    if not raw.strip().isdigit():
        raise service.Invalid(_("A whole number is expected."))
    return int(raw)


@require_POST
@staff_member_required
def act(request: HttpRequest, slug: str) -> HttpResponse:
    process = get_object_or_404(Process.objects.defer("published_document"), slug=slug)
    who, what, post = request.user.get_username(), request.POST.get("action", ""), request.POST

    def proposal() -> Proposal:
        return get_object_or_404(Proposal, pk=_int(post.get("proposal", "")), process=process)

    def run() -> None:
        if what == "phase":
            service.set_phase(process, post.get("phase", ""), who)
        elif what == "weights":
            try:
                weights = {name: float(post.get(name, "")) for name in ("resident", "anchorid", "anonymous")}
            except ValueError:
                raise service.Invalid(_("A weight is between 0 and 10 for each kind of participant.")) from None
            service.set_rules(process, who, weights=weights)
        elif what == "select":
            service.select_for_ballot(proposal(), who, cost=_int(post.get("cost", "0") or "0"))
        elif what == "hide-proposal":
            service.hide(proposal(), who, post.get("reason", ""))
        elif what == "hide-comment":
            found = get_object_or_404(Comment.objects.filter(Q(proposal__process=process) | Q(debate__process=process)),
                                      pk=_int(post.get("comment", "")))  # fmt: skip
            service.hide(found, who, post.get("reason", ""))
        elif what == "hide-answer":
            answer = get_object_or_404(SurveyAnswer, pk=_int(post.get("answer", "")), response__survey__process=process)
            surveys.hide_answer(answer, who, post.get("reason", ""))
        elif what == "merge":
            into = get_object_or_404(Proposal, pk=_int(post.get("into", "")), process=process)
            service.merge(proposal(), into, who)
        elif what == "progress":
            service.record_progress(proposal(), who, post.get("status", ""), _int(post.get("percent", "0") or "0"))
        elif what == "decision":
            service.decide(process, who, post.get("decision", ""), post.get("reason", ""))
        else:
            raise service.Invalid(_("Unknown action."))

    return _do(request, process, run)


urlpatterns = [
    path("", index, name="participation_staff"),
    path("<slug:slug>/", process_page, name="participation_staff_process"),
    path("<slug:slug>/act/", act, name="participation_staff_act"),
]
