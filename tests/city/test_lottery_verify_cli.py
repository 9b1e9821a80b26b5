"""``anchorid city lottery verify``: anyone re-checks a published draw from its audit document (a file, or the
round's audit.json over HTTP); tampering shows. Also the demo seed and ``anchorid city staff add``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from anchorid.city.booking.demo import seed_facilities
from anchorid.city.lottery import service
from anchorid.city.lottery.audit import verify_document
from anchorid.city.lottery.demo import DRAWN_TITLE_EN, OPEN_TITLE_EN, STAFF_USERNAME, seed_lottery_demo
from anchorid.city.lottery.models import Entry, LotteryRound
from anchorid.city.lottery.service import audit_document
from anchorid.cli import main

from .lottery_support import AFTER_CLOSE, DURING, lottery_facility, make_slots, open_round, resident


def drawn_document() -> tuple[LotteryRound, dict[str, Any]]:
    slots = make_slots(lottery_facility(), 3)
    round_ = open_round(slots)
    for i in range(5):
        service.enter(round_, resident(f"entrant {i}"), [slot.pk for slot in reversed(slots)], now=DURING)
    service.close_entries(round_, now=AFTER_CLOSE)
    service.run_draw(round_, now=AFTER_CLOSE)
    round_.refresh_from_db()
    return round_, json.loads(json.dumps(service.audit_document(round_)))


@pytest.mark.django_db
def test_it_verifies_a_published_round_from_its_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, document = drawn_document()
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(document))
    assert main(["city", "lottery", "verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    assert "verified" in out


@pytest.mark.django_db
def test_it_reports_a_swapped_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, document = drawn_document()
    document["seed"] = "00" * 32
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(document))
    assert main(["city", "lottery", "verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL seed matches the commitment" in out
    assert "NOT VERIFIED" in out


@pytest.mark.django_db
def test_it_refuses_an_unpublished_round(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    round_ = open_round(make_slots(lottery_facility(), 1))
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(service.audit_document(round_)))
    assert main(["city", "lottery", "verify", str(path)]) == 2
    assert "not published yet" in capsys.readouterr().err


def test_it_says_what_it_cannot_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["city", "lottery", "verify", str(tmp_path / "missing.json")]) == 2
    (tmp_path / "junk.json").write_text("[1, 2")
    assert main(["city", "lottery", "verify", str(tmp_path / "junk.json")]) == 2
    assert main(["city", "lottery", "verify", "7"]) == 2
    err = capsys.readouterr().err
    assert "neither a round number" in err
    assert "needs --data" in err


@pytest.mark.django_db(transaction=True)
def test_it_verifies_the_round_page_over_http(live_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    round_, _ = drawn_document()
    assert main(["city", "lottery", "verify", f"{live_server.url}/lottery/{round_.pk}/audit.json"]) == 0
    assert "verified" in capsys.readouterr().out


@pytest.mark.django_db
def test_it_seeds_an_open_round_and_a_staff_login_for_the_demo() -> None:
    seed_facilities(weeks=4)
    lines = seed_lottery_demo("http://localhost:8002")
    round_ = LotteryRound.objects.get(title_en=OPEN_TITLE_EN)
    assert round_.phase == "committed"
    assert round_.round_slots.count() > 0
    password = lines[0].rsplit("password ", 1)[1]
    client = Client()
    assert client.login(username=STAFF_USERNAME, password=password)
    assert client.get(f"/staff/lottery/{round_.pk}/").status_code == 200
    assert f"/lottery/{round_.pk}/" in lines[1]
    again = seed_lottery_demo("http://localhost:8002")
    assert LotteryRound.objects.count() == 2  # the open round and the drawn one, each made once
    assert again[0] != lines[0]


@pytest.mark.django_db
def test_it_seeds_a_drawn_round_whose_published_draw_verifies_for_the_demo() -> None:
    seed_facilities(weeks=4)
    lines = seed_lottery_demo("http://localhost:8002")
    drawn = LotteryRound.objects.get(title_en=DRAWN_TITLE_EN)
    assert drawn.phase == "drawn"
    assert Entry.objects.filter(round=drawn, booking__isnull=False).count() == drawn.round_slots.count() == 3
    document = json.loads(json.dumps(audit_document(drawn)))
    assert document["seed"] == drawn.seed_hex
    assert verify_document(document).ok
    assert any(f"lottery verify {drawn.pk})" in line and f"/lottery/{drawn.pk}/" in line for line in lines)
    # The open round still takes the remaining lottery slots; a second seeding makes neither round again.
    assert not set(drawn.round_slots.values_list("slot_id", flat=True)) & set(
        LotteryRound.objects.get(title_en=OPEN_TITLE_EN).round_slots.values_list("slot_id", flat=True)
    )
    seed_lottery_demo("http://localhost:8002")
    assert LotteryRound.objects.filter(title_en=DRAWN_TITLE_EN).count() == 1


def run_cli(data: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANCHORID_DATA_DIR": str(data)}
    env.pop("DATABASE_URL", None)  # the command's own party database: SQLite in its data folder
    return subprocess.run([sys.executable, "-m", "anchorid.cli", *args], capture_output=True, text=True, env=env,
                          input=stdin, timeout=120, check=False)  # fmt: skip


def test_it_adds_a_staff_account_and_reads_rounds_from_the_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "city"
    added = run_cli(data, "city", "staff", "add", "--data", str(data), "--username", "clerk", "--areas", "counter")
    assert added.returncode == 0, added.stderr
    shown = json.loads(added.stdout)
    assert shown["areas"] == ["counter"]
    assert len(shown["password"]) >= 12
    short = run_cli(data, "city", "staff", "add", "--data", str(data), "--username", "x", "--password-stdin",
                    stdin="short\n")  # fmt: skip
    assert short.returncode == 2
    assert "12 characters" in short.stderr
    missing = run_cli(data, "city", "lottery", "verify", "1", "--data", str(data))
    assert missing.returncode == 2
    assert "no round 1" in missing.stderr
    released = run_cli(data, "city", "lottery", "release-due", "--data", str(data))
    assert json.loads(released.stdout) == {"slots_opened": 0}
    demo = run_cli(data, "city", "lottery", "demo", "--data", str(data), "--origin", "http://city.test")
    assert demo.returncode == 0, demo.stderr
    assert "http://city.test/staff/login/" in demo.stdout
    assert "seed the facilities first" in demo.stdout
