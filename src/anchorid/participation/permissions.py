"""Who may do what, per process and per action, and in which phase.

- ``phase_actions``: each phase switches actions on (Decidim's per-step settings). Defaults below; a process may
  override any phase's list.
- ``permissions``: per action, the least assurance allowed — ``anonymous`` (a pseudonymous session), ``anchorid``
  (logged in with AnchorID) or ``resident`` (``resident_of`` is the process's municipality) — and an age condition
  (``"18"``: the ``age_over_18`` claim must be true; ``"15"``, a youth process: ``age_over_15``, or ``age_over_18``).

``check`` raises ``NotAllowed`` with a message for the person (never a claim name or code).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from anchorid.participation.identity import Participant
from anchorid.participation.models import Process

ACTIONS = ("propose", "comment", "support", "vote", "debate", "survey", "attend")
LEVELS = ("anonymous", "anchorid", "resident")
DEFAULT_PHASE_ACTIONS: dict[str, list[str]] = {
    "ideas": ["propose", "comment", "support", "survey", "attend"],
    "debate": ["comment", "debate", "survey", "attend"],
    "vote": ["vote", "comment", "attend"],
    "results": ["attend"],
    "followup": ["comment", "survey", "attend"],
}
DEFAULT_PERMISSIONS: dict[str, dict[str, str]] = {
    "propose": {"level": "anonymous", "age": ""},
    "comment": {"level": "anonymous", "age": ""},
    "support": {"level": "anchorid", "age": ""},
    "debate": {"level": "anonymous", "age": ""},
    "vote": {"level": "resident", "age": ""},
    "survey": {"level": "anonymous", "age": ""},
    "attend": {"level": "anchorid", "age": ""},
}
#: The age conditions a process may set (a youth process: 15), each answered by the idp's age claims.
AGES = ("15", "18")


#: The actions in words, for residents (the process page never shows the internal names).
def action_label(action: str) -> str:
    return {"propose": _("Propose ideas"), "comment": _("Comment"), "support": _("Support ideas"), "vote": _("Vote"),
            "debate": _("Start debates"), "survey": _("Answer surveys"),
            "attend": _("Register for meetings")}.get(action, action)  # fmt: skip


DEFAULT_WEIGHTS = {"resident": 1.0, "anchorid": 0.5, "anonymous": 0.0}


class NotAllowed(Exception):
    """The action is not open now or not to this participant; ``message`` says why, in words."""

    def __init__(self, message: str, *, needs_login: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.needs_login = needs_login


def actions_in_phase(process: Process, phase: str | None = None) -> list[str]:
    phase = phase or process.phase
    configured: dict[str, Any] = process.phase_actions or {}
    return list(configured.get(phase, DEFAULT_PHASE_ACTIONS.get(phase, [])))


def rule(process: Process, action: str) -> dict[str, str]:
    configured: dict[str, Any] = process.permissions or {}
    return {**DEFAULT_PERMISSIONS[action], **configured.get(action, {})}


def weights(process: Process) -> dict[str, float]:
    return {**DEFAULT_WEIGHTS, **{k: float(v) for k, v in (process.weights or {}).items()}}


def open_now(process: Process, action: str) -> bool:
    return action in actions_in_phase(process)


def check(process: Process, action: str, participant: Participant | None) -> None:
    """Raise ``NotAllowed`` unless ``participant`` may do ``action`` in ``process`` now."""
    if action not in ACTIONS or not open_now(process, action):
        raise NotAllowed(_("This is not open in the current phase of the process."))
    needed = rule(process, action)
    level = needed.get("level", "anchorid")
    if level != "anonymous":
        if participant is None or not participant.logged_in:
            raise NotAllowed(_("Please log in with AnchorID to take part here."), needs_login=True)
        if level == "resident" and participant.assurance(process.municipality_code) != "resident":
            raise NotAllowed(
                _("Only verified residents of the city may take part here. Your AnchorID login did not show that you "
                  "live in the city (you may log in again and agree to share your municipality).")
            )  # fmt: skip
    age = needed.get("age", "")
    if age in AGES and (participant is None or not participant.age_over(int(age))):
        raise NotAllowed(_("Only people aged %(age)s or over may take part here.") % {"age": age}, needs_login=True)


def describe(process: Process, action: str) -> str:
    """Who may do ``action``, in words for the process page (published before voting opens)."""
    needed = rule(process, action)
    words = {
        "anonymous": _("anyone, also without logging in (marked anonymous)"),
        "anchorid": _("anyone logged in with AnchorID"),
        "resident": _("verified residents (AnchorID with the My Number Card)"),
    }[needed.get("level", "anchorid")]
    if needed.get("age") in AGES:
        words += " " + _("aged %(age)s or over") % {"age": needed["age"]}
    return words
