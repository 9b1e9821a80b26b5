"""Surveys: single/multiple choice and free text, one response per person (per login, per anonymous session) by the
database, aggregated results split by assurance, free text moderated by staff with an audit trail — and bad input
(forged choices and question ids, oversized or script-laden text, outside the phase, no CSRF) refused, nothing
stored."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from anchorid.participation.identity import LOGIN_KEY
from anchorid.participation.models import (
    ModerationAction,
    Process,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
)

from .conftest import CITY

pytestmark = pytest.mark.django_db
SCRIPT = '<script>alert("x")</script>'


def logged_in(sub: str, *, resident: bool = True) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    session = client.session
    session[LOGIN_KEY] = {"sub": sub, "claims": {"resident_of": CITY if resident else "131016"}, "id_token": "x"}
    session.save()
    return client


def a_survey(phase: str = "ideas", **permissions: dict[str, str]) -> tuple[Survey, list[SurveyQuestion]]:
    process = Process.objects.create(slug="parks", title="Parks", phase=phase, permissions=permissions)
    survey = Survey.objects.create(process=process, title="How do you use the parks?")
    questions = [
        SurveyQuestion.objects.create(survey=survey, position=1, kind="single", text="How often?",
                                      options=["Daily", "Weekly", "Rarely"]),
        SurveyQuestion.objects.create(survey=survey, position=2, kind="multiple", text="What for?",
                                      options=["Walking", "Sports", "Picnics"]),
        SurveyQuestion.objects.create(survey=survey, position=3, kind="text", text="Anything else?", required=False),
    ]  # fmt: skip
    return survey, questions


def answers(q: list[SurveyQuestion], single: str = "0", multiple: tuple[str, ...] = ("0", "2"),
            text: str = "") -> dict[str, object]:  # fmt: skip
    return {f"q{q[0].pk}": single, f"q{q[1].pk}": list(multiple), f"q{q[2].pk}": text}


def test_it_takes_one_response_per_person_and_aggregates_by_assurance() -> None:
    survey, q = a_survey()
    resident = logged_in("r1")
    assert f'name="q{q[0].pk}"' in resident.get(f"/surveys/{survey.pk}/").content.decode()
    sent = resident.post(f"/surveys/{survey.pk}/", answers(q, text=f"More shade {SCRIPT}"))
    assert (sent.status_code, sent["Location"]) == (302, f"/surveys/{survey.pk}/results/")
    again = resident.post(f"/surveys/{survey.pk}/", answers(q, single="1"))  # the same person, once only
    assert again.status_code == 400
    assert "already answered" in again.content.decode()
    assert "survey-answered" in resident.get(f"/surveys/{survey.pk}/").content.decode()
    logged_in("r1").post(f"/surveys/{survey.pk}/", answers(q))  # the same login in another browser: refused too
    visitor = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert visitor.post(f"/surveys/{survey.pk}/", answers(q, single="2", multiple=("1",))).status_code == 302
    assert visitor.post(f"/surveys/{survey.pk}/", answers(q)).status_code == 400  # one per anonymous session
    logged_in("n1", resident=False).post(f"/surveys/{survey.pk}/", answers(q, single="0", multiple=("1",)))
    assert SurveyResponse.objects.count() == 3
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/surveys/{survey.pk}/results/").content.decode()
    assert "3 responses: verified residents 1, AnchorID without residency 1, anonymous 1" in page
    assert '<th scope="row">Daily</th><td>1</td><td>1</td><td>0</td><td class="total">2</td>' in page
    assert '<th scope="row">Sports</th><td>0</td><td>1</td><td>1</td><td class="total">2</td>' in page
    assert SCRIPT not in page
    assert "More shade &lt;script&gt;" in page


def test_it_lets_a_moderator_hide_free_text_with_a_reason() -> None:
    survey, q = a_survey()
    logged_in("r1").post(f"/surveys/{survey.pk}/", answers(q, text="Call 090-0000-0000"))
    answer = SurveyAnswer.objects.get(question=q[2])
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(User.objects.create_user("mod", is_staff=True))
    assert "Call 090-0000-0000" in staff.get("/staff/parks/").content.decode()
    assert (
        staff.post("/staff/parks/act/", {"action": "hide-answer", "answer": answer.pk, "reason": ""}).status_code == 400
    )
    hide = {"action": "hide-answer", "answer": answer.pk, "reason": "personal data"}
    assert staff.post("/staff/parks/act/", hide).status_code == 302
    assert "090-0000-0000" not in Client().get(f"/surveys/{survey.pk}/results/").content.decode()
    action = ModerationAction.objects.get()
    assert (action.action, action.target, action.reason) == ("hide", f"survey answer {answer.pk}", "personal data")
    other = Process.objects.create(slug="other", title="Other")
    forged = {"action": "hide-answer", "answer": answer.pk, "reason": "x"}
    assert staff.post(f"/staff/{other.slug}/act/", forged).status_code == 404  # an answer of another process


@pytest.mark.parametrize(
    "bad",
    [
        {"single": "7"},  # a choice that is not offered
        {"single": "-1"},
        {"single": "0 OR 1=1"},
        {"multiple": ("0", "0")},  # the same choice twice
        {"multiple": ("9",)},
        {"single": ""},  # a required answer missing
        {"text": "x" * 2001},  # oversized
        {"text": "nul\x00"},
    ],
)
def test_it_refuses_forged_or_oversized_answers_and_stores_nothing(bad: dict[str, object]) -> None:
    survey, q = a_survey()
    response = logged_in("r1").post(f"/surveys/{survey.pk}/", answers(q, **bad))  # type: ignore[arg-type]
    assert response.status_code == 400
    assert 'id="refusal"' in response.content.decode()
    assert not SurveyResponse.objects.exists()
    assert not SurveyAnswer.objects.exists()


def test_it_refuses_answers_outside_the_phase_by_permission_and_without_csrf() -> None:
    survey, q = a_survey(phase="vote")
    closed = logged_in("r1").post(f"/surveys/{survey.pk}/", answers(q))
    assert closed.status_code == 403
    assert "not open in the current phase" in closed.content.decode()
    assert "survey-closed" in logged_in("r1").get(f"/surveys/{survey.pk}/").content.decode()
    Survey.objects.all().delete()
    Process.objects.all().delete()
    survey, q = a_survey(survey={"level": "resident", "age": ""})
    assert Client().post(f"/surveys/{survey.pk}/", answers(q)).status_code == 403  # residents only: log in
    refused = logged_in("n1", resident=False).post(f"/surveys/{survey.pk}/", answers(q))
    assert "Only verified residents" in refused.content.decode()
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(f"/surveys/{survey.pk}/", answers(q)).status_code == 403
    assert Client().get("/surveys/99999/").status_code == 404
    assert not SurveyResponse.objects.exists()


def test_it_checks_the_choices_staff_give_a_question() -> None:
    from django.core.exceptions import ValidationError

    survey, _ = a_survey()
    for kind, options in (("single", ["only one"]), ("multiple", "Yes,No"), ("single", ["", "x"]), ("text", ["x"])):
        with pytest.raises(ValidationError):
            SurveyQuestion(survey=survey, kind=kind, text="q", options=options).clean()
    SurveyQuestion(survey=survey, kind="single", text="q", options=["Yes", "No"]).clean()
