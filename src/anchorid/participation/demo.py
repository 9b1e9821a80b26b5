"""The participation platform's part of ``anchorid demo``: one process in each phase, seeded with synthetic ideas,
comments, debates and ballots, and the printed steps.

- ``set_up(data, idp_origin, idp_data, origin, env)``: first run only (a marker file): ``anchorid participation
  setup --idp-data`` (keys, configuration, registration at the idp: its own client and sector).
- ``seed()``: inside the platform's Django (``anchorid participation demo --data DIR``): the five processes and a
  staff login; idempotent.
- ``guide_lines(...)``: what to try, in order.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

MARKER = ".demo-setup-done"
STAFF_USER, STAFF_PASSWORD = "participation-staff", "demo-participation-staff"
SLUGS = {"ideas": "parks-2027", "debate": "station-square", "vote": "budget-2027", "results": "library-hours",
         "followup": "cycle-lanes"}  # fmt: skip


def _run(*args: str, env: dict[str, str]) -> str:
    clean = {name: value for name, value in env.items() if name != "DATABASE_URL"}
    done = subprocess.run([sys.executable, "-m", "anchorid.cli", *args], capture_output=True, text=True, env=clean,
                          check=False)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"anchorid {' '.join(args[:2])} failed:\n{done.stderr.strip()}")
    return done.stdout


def set_up(data: Path, *, idp_origin: str, idp_data: Path, origin: str, env: dict[str, str]) -> bool:
    marker = data / MARKER
    if marker.exists():
        return False
    data.mkdir(parents=True, exist_ok=True)
    _run("participation", "setup", "--data", str(data), "--idp", idp_origin, "--origin", origin,
         "--idp-data", str(idp_data), env=env)  # fmt: skip
    marker.write_text("ok\n")
    return True


def seed_data(data: Path, env: dict[str, str]) -> list[str]:
    """``anchorid participation demo`` in a child (the platform's settings, not the demo's)."""
    return _run("participation", "demo", "--data", str(data), env=env).splitlines()


def _participant(n: int, assurance: str):  # type: ignore[no-untyped-def]
    from anchorid.participation.identity import Participant

    claims = {"resident_of": "142042", "age_over_18": True} if assurance == "resident" else {}
    logged_in = assurance != "anonymous"
    subject = f"{'sub' if logged_in else 'anon'}:demo-{assurance}-{n}"
    return Participant(subject=subject, logged_in=logged_in, claims=claims, label=f"demo-{n}")


def seed() -> list[str]:
    from django.contrib.auth.models import User

    from anchorid.participation import permissions, service
    from anchorid.participation.models import Process

    if not User.objects.filter(username=STAFF_USER).exists():
        User.objects.create_superuser(STAFF_USER, password=STAFF_PASSWORD)
    if Process.objects.filter(slug=SLUGS["ideas"]).exists():
        return ["participation demo: already seeded"]
    titles = {
        "ideas": ("公園をもっと使いやすく (Parks 2027)", "Ideas for the city's parks."),
        "debate": ("駅前広場のこれから (Station square)", "Debate the future of the station square."),
        "vote": ("2027年度 市民提案予算 (Participatory budget 2027)", "Spend ¥10,000,000 on residents' projects."),
        "results": ("図書館の開館時間 (Library hours)", "Which opening hours should the library try?"),
        "followup": ("自転車レーン (Cycle lanes)", "Which streets get cycle lanes first?"),
    }
    for phase, slug in SLUGS.items():
        title, description = titles[phase]
        kind = {"vote": "budget", "results": "single", "followup": "approval"}.get(phase, "budget")
        process = Process.objects.create(slug=slug, title=title, description=description, vote_kind=kind,
                                         max_choices=2, budget_total=10_000_000, budget_min_percent=50,
                                         support_threshold=3)  # fmt: skip
        if phase in ("results", "followup"):  # anyone may vote here: the results show the split by assurance
            process.permissions = {"vote": {"level": "anonymous", "age": ""}}
            process.save()
        ideas = [("ベンチを増やす", 3_000_000), ("夜間照明", 4_000_000), ("子どもの遊び場", 5_000_000),
                 ("Wi-Fi", 2_000_000)]  # fmt: skip
        made = [service.propose(process, _participant(i, "anonymous" if i % 2 else "resident"), t,
                                f"{t}: synthetic demo idea.", cost=c) for i, (t, c) in enumerate(ideas)]  # fmt: skip
        service.comment(_participant(9, "anonymous"), "いいですね / Good idea", proposal=made[0])
        made[0].latitude, made[0].longitude = Decimal("35.3190"), Decimal("139.5504")  # by Kamakura station
        made[0].save(update_fields=["latitude", "longitude"])
        if phase == "ideas":
            _seed_survey(process)
            continue
        service.set_phase(process, "debate", STAFF_USER)
        service.start_debate(process, _participant(1, "resident"), "どこから始める? / Where to start?", "Discuss.")
        if phase in ("debate", "followup"):
            _seed_meeting(process, done=phase == "followup")
        if phase == "debate":
            continue
        for proposal in made:
            service.select_for_ballot(proposal, STAFF_USER)
        service.set_phase(process, "vote", STAFF_USER)
        for n in range(12):
            assurance = ("resident", "anchorid", "anonymous")[n % 3]
            choice = [made[n % 2].pk, made[3].pk] if kind != "single" else [made[n % 2].pk]
            with contextlib.suppress(permissions.NotAllowed):  # where only residents vote
                service.cast(process.pk, _participant(n, assurance), choice)
        if phase == "vote":
            continue
        service.set_phase(process, "results", STAFF_USER)
        if phase == "results":
            continue
        service.set_phase(process, "followup", STAFF_USER)
        service.record_progress(made[0], STAFF_USER, "設計中 / being designed", 30)
        service.decide(process, STAFF_USER, "continue", "住民の支持が多いため継続します / Continued: strong support.")
    return [f"participation demo: {len(SLUGS)} processes, staff login {STAFF_USER}"]


def _seed_meeting(process: Any, *, done: bool) -> None:
    """A meeting of the process: ahead (registration open) or held (with its minutes)."""
    from datetime import timedelta

    from django.utils import timezone

    from anchorid.participation.models import Meeting

    noon = timezone.localtime().replace(hour=14, minute=0, second=0, microsecond=0)
    minutes = "合意: 利用の多い路線から着手 / Agreed: start with the busiest streets." if done else ""
    Meeting.objects.create(
        process=process, title="意見交換会 (Open meeting)", starts_at=noon + timedelta(days=-20 if done else 20),
        place="鎌倉市役所 本庁舎 2階", capacity=30, description="どなたでも / Everyone welcome.", minutes=minutes,
    )  # fmt: skip


def _seed_survey(process: Any) -> None:
    """The ideas process's survey (single choice, multiple choice, free text) with a few synthetic responses."""
    from django.http import QueryDict

    from anchorid.participation import surveys
    from anchorid.participation.models import Survey, SurveyQuestion

    survey = Survey.objects.create(process=process, title="公園の使い方アンケート (How do you use the parks?)",
                                   description="1人1回 / once per person")  # fmt: skip
    often = SurveyQuestion.objects.create(survey=survey, position=1, kind="single", text="どのくらい公園に行きますか?",
                                          options=["ほぼ毎日", "週に1回", "あまり行かない"])  # fmt: skip
    uses = SurveyQuestion.objects.create(survey=survey, position=2, kind="multiple", text="何をしに行きますか?",
                                         options=["散歩", "スポーツ", "子どもと遊ぶ", "休憩"])  # fmt: skip
    free = SurveyQuestion.objects.create(survey=survey, position=3, kind="text", text="ほかにご意見があれば",
                                         required=False)  # fmt: skip
    for n in range(6):
        form = QueryDict(mutable=True)
        form[f"q{often.pk}"] = str(n % 3)
        form.setlist(f"q{uses.pk}", [str(n % 4), str((n + 1) % 4)])
        form[f"q{free.pk}"] = "日陰がほしい" if n == 0 else ""
        surveys.respond(survey, _participant(20 + n, ("resident", "anchorid", "anonymous")[n % 3]), form)


def guide_lines(*, command: str, origin: str, data: Path) -> list[str]:
    s = SLUGS
    return [
        "Participation platform (issue #15): one process in each phase —",
        "  1. ideas: propose an idea and comment without logging in (marked anonymous):",
        f"     {origin}/processes/{s['ideas']}/",
        f"  2. debate: {origin}/processes/{s['debate']}/",
        f"  3. vote (participatory budget, verified residents): log in with AnchorID (passkey) and vote; vote again to"
        f" replace the ballot; the receipt is your ballot's number: {origin}/processes/{s['vote']}/vote/",
        f"  4. results, split by assurance and weighted: {origin}/processes/{s['results']}/results/",
        f"     recount the published ballots yourself: {command} participation tally verify "
        f"{origin}/processes/{s['results']}/ballots.json --key {origin}/tally-keys.json",
        f"  5. follow-up (progress, the city's stop/continue decision): {origin}/processes/{s['followup']}/",
        f"  6. staff (phases, weights, moderation, audit trail): {origin}/staff/ — {STAFF_USER} / {STAFF_PASSWORD}",
        f"  7. a survey, once per person (the ideas process's page links it; results by assurance):"
        f" {origin}/processes/{s['ideas']}/#surveys",
        f"  8. meetings: register for the debate's open meeting (AnchorID login); the follow-up's has its minutes:"
        f" {origin}/processes/{s['debate']}/#meetings",
        f"     open data: {origin}/processes/{s['followup']}/open-data.csv",
    ]


__all__ = ["guide_lines", "seed", "seed_data", "set_up"]
