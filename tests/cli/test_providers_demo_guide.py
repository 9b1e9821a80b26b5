"""The move tour ``anchorid.providersim.demo.guide_lines`` prints: every step's URL and command for this demo's
ports and folders. (``set_up`` and ``connect`` are what tests/interop/lifecycle_harness.py starts its world with.)"""

from __future__ import annotations

from pathlib import Path

from anchorid.providersim.demo import DEMO_NEW_ADDRESS, guide_lines
from anchorid.providersim.providers import PROVIDERS


def test_it_prints_each_step_of_the_move_tour() -> None:
    text = "\n".join(guide_lines(
        command="anchorid", providers_origin="http://localhost:8003", city_origin="http://localhost:8002",
        idp_origin="http://localhost:8001", jlis_data=Path("/d/jlis"), idp_data=Path("/d/idp"),
        providers_data=Path("/d/providers"), resident_id=7,
    ))  # fmt: skip
    for slug in PROVIDERS:
        assert f"http://localhost:8003/{slug}/" in text
    assert "http://localhost:8002/departments/" in text
    assert "http://localhost:8001/me/moving/" in text
    assert "http://localhost:8001/me/refresh-consent/" in text
    assert f"anchorid jlis move --data /d/jlis --resident 7 --address '{DEMO_NEW_ADDRESS}'" in text
    assert "anchorid idp sweep --data /d/idp" in text
    assert "anchorid providers poll --data /d/providers" in text
