"""The participation platform's read API for services a resident linked it to (issue 17, the personalized home).

``GET /api/v1/status`` answers, for the person the token names, the votes open now that they have not voted in:
each process's title, its page, and who may vote in it (so the caller can say "residents of the city may vote").
Whether they voted is the voter table's question for the voter key of the platform's pairwise ``sub`` (the same key
a vote from their own login writes); no ballot, no choice and no ``sub`` is in the answer, and nothing is written.

The caller holds a token the idp exchanged for the platform (RFC 8693): the platform's pairwise ``sub``, the
``participation:votes`` scope, addressed here, bound to the caller's DPoP key (``anchorid.common.rp.resource_server``).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django.conf import settings

from anchorid.common.rp.read_api import read_api_view
from anchorid.participation import login, permissions
from anchorid.participation.identity import Participant
from anchorid.participation.models import Process, VoterParticipation

if TYPE_CHECKING:
    from anchorid.common.rp.resource_server import ResourceServer

ORIGIN_SETTING = "ANCHORID_PARTICIPATION_ORIGIN"  # the party's own setting (not in the type-check settings)
SCOPE = "participation:votes"


def open_votes(sub: str) -> dict[str, Any]:
    """The processes whose vote is open now and that this person (the platform's pairwise ``sub``) has not voted in."""
    origin = str(getattr(settings, ORIGIN_SETTING)).rstrip("/")
    person = Participant(subject=f"sub:{sub}", logged_in=True, claims={}, label="")
    candidates = [p for p in Process.objects.only(*OPEN_VOTE_FIELDS).order_by("id") if permissions.open_now(p, "vote")]
    voted = set(
        VoterParticipation.objects.filter(
            voter_key__in=[person.voter_key(process.pk) for process in candidates]
        ).values_list("process_id", flat=True)
    )
    votes = []
    for process in candidates:
        if process.pk in voted:
            continue
        rule = permissions.rule(process, "vote")
        votes.append({
            "title": process.title,
            "url": f"{origin}/processes/{process.slug}/",
            "who_may_vote": rule.get("level", "anchorid"),
            "municipality_code": process.municipality_code,
            "adults_only": rule.get("age") == "18",
        })  # fmt: skip
    return {"open_votes": votes}


OPEN_VOTE_FIELDS = ("id", "slug", "title", "phase", "phase_actions", "permissions", "municipality_code")


@functools.cache
def resource_server() -> ResourceServer:
    """One verifier per process: the idp's keys and the DPoP nonces are cached across requests."""
    from anchorid.common.rp.resource_server import ResourceServer

    return ResourceServer(login.client())


# looked up per request: a test may replace this module's resource_server
status_view = read_api_view(SCOPE, lambda: resource_server(), open_votes)
