"""Surveys: answering once, aggregating, moderating free text.

One response per person and survey: ``SurveyResponse`` is unique per (survey, respondent key), the key an HMAC of the
participant's subject (the pairwise ``sub`` of a login, or the pseudonym of an anonymous session) under a derivation
of its own, per survey — so responses to two surveys, or a response and a support, share no key. Who may answer is the
process's ``survey`` permission and phase (``permissions``). Results count each choice split by assurance; free text
is listed without its author, and a moderator may hide an answer with a reason (an audit-trail row)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils.translation import gettext as _

from anchorid.participation import permissions, tally
from anchorid.participation.identity import Participant, keyed
from anchorid.participation.models import ModerationAction, Survey, SurveyAnswer, SurveyQuestion, SurveyResponse
from anchorid.participation.service import REASON_MAX, Invalid, _text

TEXT_MAX = 2000


def respondent_key(survey: Survey, participant: Participant) -> str:
    return keyed("survey-respondent", f"{survey.pk}:{participant.subject}")


def has_responded(survey: Survey, participant: Participant | None) -> bool:
    if participant is None:
        return False
    return SurveyResponse.objects.filter(survey=survey, respondent_key=respondent_key(survey, participant)).exists()


def _index(raw: str, question: SurveyQuestion) -> int:
    if not raw.isdigit() or int(raw) >= len(question.options):
        raise Invalid(_("An answer names a choice that is not in the question."))
    return int(raw)


def parse(survey: Survey, form: QueryDict) -> list[tuple[SurveyQuestion, list[int], str]]:
    """The answers in a submitted form (fields ``q<question id>``), checked against the questions: a choice that is
    not offered, two choices on a single-choice question, a missing required answer, text that is too long."""
    answers: list[tuple[SurveyQuestion, list[int], str]] = []
    for question in survey.questions.all():
        field = f"q{question.pk}"
        if question.kind == "text":
            text = (form.get(field) or "").strip()
            if text or question.required:
                text = _text(text, TEXT_MAX, _("The answer to “%(q)s”") % {"q": question.text})
            answers.append((question, [], text))
            continue
        raw = form.getlist(field)
        chosen = sorted({_index(value, question) for value in raw})
        if len(chosen) != len(raw):
            raise Invalid(_("The same choice was given twice."))
        if question.kind == "single" and len(chosen) > 1:
            raise Invalid(_("Choose one answer to “%(q)s”.") % {"q": question.text})
        if question.required and not chosen:
            raise Invalid(_("Please answer “%(q)s”.") % {"q": question.text})
        answers.append((question, chosen, ""))
    return answers


def respond(survey: Survey, participant: Participant, form: QueryDict) -> SurveyResponse:
    """Record a response, once: a second one from the same person is refused and writes nothing."""
    permissions.check(survey.process, "survey", participant)
    answers = parse(survey, form)
    try:
        with transaction.atomic():
            response = SurveyResponse.objects.create(
                survey=survey, respondent_key=respondent_key(survey, participant),
                assurance=participant.assurance(survey.process.municipality_code),
            )  # fmt: skip
            SurveyAnswer.objects.bulk_create(
                SurveyAnswer(response=response, question=q, choices=chosen, text=text) for q, chosen, text in answers
            )
    except IntegrityError:
        raise Invalid(_("You have already answered this survey.")) from None
    return response


def results(survey: Survey, *, with_hidden: bool = False) -> dict[str, Any]:
    """Per question: each choice's count split by assurance (and the total), or the free-text answers (visible ones,
    without their author; staff see the hidden ones marked)."""
    rows = list(SurveyAnswer.objects.filter(response__survey=survey).values_list(
        "question_id", "choices", "text", "hidden", "hidden_reason", "pk", "response__assurance"))  # fmt: skip
    questions = []
    for question in survey.questions.all():
        mine = [row for row in rows if row[0] == question.pk]
        entry: dict[str, Any] = {"question": question, "answered": 0}
        if question.kind == "text":
            shown = [row for row in mine if row[2] and (with_hidden or not row[3])]
            texts = [{"pk": pk, "text": text, "hidden": hidden, "reason": reason}
                     for _q, _c, text, hidden, reason, pk, _a in shown]  # fmt: skip
            entry.update(texts=texts, answered=sum(1 for row in mine if row[2]))
        else:
            counts = [dict.fromkeys(tally.ASSURANCE_ORDER, 0) for _ in question.options]
            for _q, chosen, *_rest, assurance in mine:
                for index in chosen:
                    if 0 <= index < len(counts):
                        counts[index][assurance] += 1
            entry.update(options=[{"label": label, "counts": c, "total": sum(c.values())}
                                  for label, c in zip(question.options, counts, strict=True)],
                         answered=sum(1 for row in mine if row[1]))  # fmt: skip
        questions.append(entry)
    responses = dict.fromkeys(tally.ASSURANCE_ORDER, 0)
    for assurance in SurveyResponse.objects.filter(survey=survey).values_list("assurance", flat=True):
        responses[assurance] += 1
    return {"questions": questions, "responses": responses, "total": sum(responses.values())}


def hide_answer(answer: SurveyAnswer, moderator: str, reason: str) -> None:
    reason = _text(reason, REASON_MAX, _("The reason"))
    survey = answer.response.survey
    with transaction.atomic():
        answer.hidden, answer.hidden_reason = True, reason
        answer.save(update_fields=["hidden", "hidden_reason"])
        ModerationAction.objects.create(process=survey.process, moderator=moderator, action="hide",
                                        target=f"survey answer {answer.pk}", reason=reason)  # fmt: skip
