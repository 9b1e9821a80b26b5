"""``GET /api/v1/status`` for linked services (issue 17): the patron's loans on now with their due dates and the holds
ready to borrow, by the library's pairwise ``sub``; and the refusals of anything but a valid exchanged token for the
library (the whole exchange against a live idp is tests/interop/test_linked_home.py)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from anchorid.library import api, circulation
from anchorid.library.models import Hold, Loan
from support.linked_tokens import ReadApiRefusals

from .conftest import make_patron, make_title, one_copy

pytestmark = pytest.mark.django_db


def test_it_answers_the_loans_due_and_the_holds_ready_of_the_patron_only(settings: Any) -> None:
    settings.ANCHORID_LIBRARY_ORIGIN = "http://library.test"
    reader, other = make_patron(), make_patron()
    borrowed, ready, waiting = (
        make_title("海辺の図書室"),
        make_title("山の本", "やまのほん"),
        make_title("川の本", "かわ"),
    )
    for title in (borrowed, ready, waiting):
        one_copy(title)
    loan = circulation.borrow(reader, borrowed.pk)
    until = timezone.now() + datetime.timedelta(days=3)
    Hold.objects.create(patron=reader, title=ready, status=Hold.Status.READY, ready_until=until)
    Hold.objects.create(patron=reader, title=waiting)
    circulation.borrow(other, waiting.pk)

    answer = api.status(reader.sub)
    assert answer == {
        "registered": True,
        "loans": [{"title": "海辺の図書室", "due_at": loan.due_at.isoformat(),
                   "url": f"http://library.test/loans/{loan.pk}/read/"}],
        "holds_ready": [{"title": "山の本", "ready_until": until.isoformat(),
                         "url": f"http://library.test/titles/{ready.pk}/"}],
        "holds_waiting": 1,
    }  # fmt: skip
    assert reader.sub not in str(answer)
    assert reader.card_number not in str(answer)
    assert [item["title"] for item in api.status(other.sub)["loans"]] == ["川の本"]


def test_it_answers_nothing_for_someone_who_is_not_a_patron() -> None:
    assert api.status("not-a-patron") == {"registered": False, "loans": [], "holds_ready": [], "holds_waiting": 0}
    assert not Loan.objects.exists()


class TestTheLibraryStatusApi(ReadApiRefusals):
    client_id = "library"
    api = api
    path = "/api/v1/status"
