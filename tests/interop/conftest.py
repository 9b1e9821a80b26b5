"""The interop tests start every party as a real process once per run (see harness.py)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Parties, start_parties
from .lifecycle_harness import World, start_world

NODE_PROJECT = Path(__file__).parent / "node"


@pytest.fixture(scope="session")
def parties(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parties]:
    started = start_parties(tmp_path_factory.mktemp("interop"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The lifecycle tests' parties: jlis, idp (Shared Signals on), city with its departments, the sample providers
    (see lifecycle_harness.py)."""
    started = start_world(tmp_path_factory.mktemp("lifecycle"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def node_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/interop/node installed with ``npm ci`` (exactly the locked versions) in a folder of this run."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.fail("Node.js and npm are needed (scripts/bootstrap --test installs them)")
    folder = tmp_path_factory.mktemp("node-rp")
    for name in ("package.json", "package-lock.json", "rp.mjs"):
        shutil.copy(NODE_PROJECT / name, folder / name)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    return folder
