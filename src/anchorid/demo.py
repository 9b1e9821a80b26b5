"""``anchorid demo``: start every party that exists, seeded, and print what to try."""

from __future__ import annotations

from pathlib import Path


def run_demo(data: Path, *, base_port: int, residents: int, once: bool) -> int:
    raise SystemExit("the demo is assembled once jlis and the card exist (issue #2)")
