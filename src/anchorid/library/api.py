"""The e-library's read API for services a resident linked it to (issue 17, the personalized resident home).

``GET /api/v1/status`` answers, for the patron the token names, the loans on now (title, due date) and the holds
ready to borrow (title, until when), and how many holds still wait. The caller holds a token the idp exchanged for
the library (RFC 8693): it names the resident by the library's own pairwise ``sub``, carries the ``library:loans``
scope, is addressed to the library and bound to the caller's DPoP key; ``anchorid.common.rp.resource_server``
checks all of that. The caller never learns the library's ``sub`` (it is not in the answer) and nothing is written.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from anchorid.common.rp.read_api import read_api_view
from anchorid.library import rp
from anchorid.library.models import Hold, Loan, Patron

if TYPE_CHECKING:
    from anchorid.common.rp.resource_server import ResourceServer

ORIGIN_SETTING = "ANCHORID_LIBRARY_ORIGIN"  # the party's own setting (not in the type-check settings)
SCOPE = "library:loans"


def status(sub: str) -> dict[str, Any]:
    """What the patron with this pairwise ``sub`` has on loan and ready to collect (empty when not a patron)."""
    origin = str(getattr(settings, ORIGIN_SETTING)).rstrip("/")
    patron = Patron.objects.filter(sub=sub).only("id").first()
    if patron is None:
        return {"registered": False, "loans": [], "holds_ready": [], "holds_waiting": 0}
    now = timezone.now()
    loans = Loan.objects.filter(patron=patron, status=Loan.Status.ACTIVE, due_at__gt=now).select_related("title")
    ready = Hold.objects.filter(patron=patron, status=Hold.Status.READY).select_related("title")
    waiting = Hold.objects.filter(patron=patron, status=Hold.Status.WAITING).count()
    return {
        "registered": True,
        "loans": [
            {"title": loan.title.title, "due_at": loan.due_at.isoformat(), "url": f"{origin}/loans/{loan.pk}/read/"}
            for loan in loans.order_by("due_at", "id")
        ],
        "holds_ready": [
            {
                "title": hold.title.title,
                "ready_until": hold.ready_until.isoformat() if hold.ready_until else None,
                "url": f"{origin}/titles/{hold.title_id}/",
            }
            for hold in ready.order_by("ready_until", "id")
        ],
        "holds_waiting": waiting,
    }


@functools.cache
def resource_server() -> ResourceServer:
    """One verifier per process: the idp's keys and the DPoP nonces are cached across requests."""
    from anchorid.common.rp.resource_server import ResourceServer

    return ResourceServer(rp.client())


# looked up per request: a test may replace this module's resource_server
status_view = read_api_view(SCOPE, lambda: resource_server(), status)
