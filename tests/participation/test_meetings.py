"""Meetings: a date, a place, seats; registration once per person within the capacity (the database and a row lock
decide), cancelling, the minutes shown — and refusals (anonymous where a login is needed, a full meeting, outside
the phase, forged ids, no CSRF) that store nothing."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from anchorid.participation.identity import LOGIN_KEY
from anchorid.participation.models import Meeting, MeetingRegistration, Process

from .conftest import CITY

pytestmark = pytest.mark.django_db


def logged_in(sub: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    session = client.session
    session[LOGIN_KEY] = {"sub": sub, "claims": {"resident_of": CITY}, "id_token": "x"}
    session.save()
    return client


def a_meeting(phase: str = "debate", capacity: int = 2) -> Meeting:
    process = Process.objects.create(slug="square", title="Square", phase=phase)
    starts = timezone.make_aware(datetime.datetime(2027, 2, 6, 14, 0))
    return Meeting.objects.create(process=process, title="Open meeting", starts_at=starts, place="Town hall 2F",
                                  capacity=capacity, minutes="Agreed: more benches <b>now</b>")  # fmt: skip


def test_it_registers_once_within_the_seats_and_cancels() -> None:
    meeting = a_meeting()
    first = logged_in("a")
    page = first.get(f"/meetings/{meeting.pk}/").content.decode()
    assert "2027-02-06 14:00" in page  # the date through the one formatter (anchorid.common.display)
    assert "Agreed: more benches &lt;b&gt;now&lt;/b&gt;" in page  # the minutes, escaped
    assert f'href="/meetings/{meeting.pk}/"' in Client().get("/processes/square/").content.decode()
    url = f"/meetings/{meeting.pk}/register/"
    assert first.post(url).status_code == 302
    assert "meeting-registered" in first.get(f"/meetings/{meeting.pk}/").content.decode()
    assert first.post(url).status_code == 400  # once
    assert logged_in("b").post(url).status_code == 302
    full = logged_in("c").post(url)
    assert full.status_code == 400
    assert "full" in full.content.decode()
    assert MeetingRegistration.objects.count() == 2
    assert first.post(url, {"cancel": "1"}).status_code == 302
    assert logged_in("c").post(url).status_code == 302  # the seat freed
    assert first.post(url, {"cancel": "1"}).status_code == 400  # nothing to cancel


def test_it_refuses_anonymous_outside_the_phase_forged_and_csrf_less_registrations() -> None:
    meeting = a_meeting()
    url = f"/meetings/{meeting.pk}/register/"
    assert Client().post(url).status_code == 403  # a login with AnchorID is needed (the default rule)
    assert Client().post("/meetings/99999/register/").status_code == 404
    assert Client().get("/meetings/abc/").status_code == 404
    assert Client(enforce_csrf_checks=True).post(url).status_code == 403
    Process.objects.filter(pk=meeting.process_id).update(phase="results", phase_actions={"results": []})
    closed = logged_in("a").post(url)
    assert closed.status_code == 403
    assert "not open in the current phase" in closed.content.decode()
    assert not MeetingRegistration.objects.exists()
