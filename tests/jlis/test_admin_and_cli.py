"""Staff pages and the counter's command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from anchorid.jlis.models import Certificate
from anchorid.jpki.cardfile import CardFile, PinReference


@pytest.mark.django_db
def test_it_lists_residents_for_staff(admin_client: Any, counter: Any) -> None:
    assert admin_client.get("/admin/jlis/resident/").status_code == 200
    assert admin_client.get(f"/admin/jlis/resident/{counter.adult.card.resident.pk}/change/").status_code == 200


@pytest.mark.django_db
def test_it_holds_a_lost_card_from_an_admin_action(admin_client: Any, fresh: Any) -> None:
    response = admin_client.post(
        "/admin/jlis/resident/", {"action": "hold", "_selected_action": [fresh.card.resident.pk]}, follow=True
    )
    assert response.status_code == 200
    assert Certificate.objects.get(pk=fresh.authentication_certificate.pk).revocation_reason == "certificateHold"


def test_it_refuses_the_admin_to_anonymous_visitors(client: Any) -> None:
    assert client.get("/admin/jlis/resident/").status_code == 302


def _adult(live: Any, position: int) -> dict[str, Any]:
    adults = [e for e in live.cards if e["has_signature_certificate"]]
    return adults[position]


def test_it_resets_a_pin_from_the_command_line(live_jlis: Any) -> None:
    entry = _adult(live_jlis, 1)
    result = live_jlis.cli("reset-pin", "--resident", str(entry["resident_id"]), "--slot", "authentication")
    card = CardFile.load(Path(entry["card_file"]))
    assert card.try_pin(PinReference.AUTHENTICATION, result["pin"].encode())


def test_it_holds_and_reissues_from_the_command_line(live_jlis: Any) -> None:
    resident = str(_adult(live_jlis, 1)["resident_id"])
    held = live_jlis.cli("hold", "--resident", resident)
    assert {c["reason"] for c in held["held"]} == {"certificateHold"}
    refused = _run(live_jlis, "reissue-signature", "--resident", resident)
    assert refused.returncode == 2
    assert "new card" in refused.stderr
    issued = live_jlis.cli("issue-card", "--resident", resident)
    assert Path(issued["card_file"]).exists()


def test_it_refuses_an_unknown_resident(live_jlis: Any) -> None:
    refused = _run(live_jlis, "death", "--resident", "999999")
    assert refused.returncode == 2
    assert "no resident" in refused.stderr


def _run(live: Any, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "anchorid.cli", "jlis", *args, "--data", str(live.data)]
    return subprocess.run(command, capture_output=True, text=True, env=live.env, check=False)


def test_it_titles_the_certificate_authorities_in_the_admin(admin_client: Any) -> None:
    index = admin_client.get("/admin/").content.decode()
    assert "Certificate authorities" in index  # issue 18 §3: the stock plural read "Certificate authoritys"
    assert "authoritys" not in index
