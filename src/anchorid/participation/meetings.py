"""Meetings: registering for a seat once per person (the database decides), within the capacity (the meeting row
locked while counting), cancelling; who may register is the process's ``attend`` permission and phase."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from anchorid.participation import permissions
from anchorid.participation.identity import Participant
from anchorid.participation.models import Meeting, MeetingRegistration
from anchorid.participation.service import Invalid


def is_registered(meeting: Meeting, participant: Participant | None) -> bool:
    return participant is not None and meeting.registrations.filter(participant_key=participant.key).exists()


def register(meeting: Meeting, participant: Participant) -> None:
    permissions.check(meeting.process, "attend", participant)
    try:
        with transaction.atomic():
            locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
            if locked.capacity and locked.registrations.count() >= locked.capacity:
                raise Invalid(_("This meeting is full."))
            assurance = participant.assurance(meeting.process.municipality_code)
            MeetingRegistration.objects.create(meeting=locked, participant_key=participant.key, assurance=assurance)
    except IntegrityError:
        raise Invalid(_("You are already registered for this meeting.")) from None


def cancel(meeting: Meeting, participant: Participant) -> None:
    deleted, _rows = meeting.registrations.filter(participant_key=participant.key).delete()
    if not deleted:
        raise Invalid(_("You are not registered for this meeting."))
