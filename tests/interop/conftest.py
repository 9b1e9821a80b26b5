"""The interop tests start every party as a real process once per run (see harness.py)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Parties, Server, free_port, run, start_parties
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


@pytest.fixture(scope="session")
def currency(parties: Parties, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The local currency (``anchorid serve currency``) beside the session's jlis and idp, set up and seeded as the
    demo does it, once: the idp knows one client ``currency`` (the link offers of issue #17 name it as their target),
    so the browser journey, the health points link and the city's linked home share this server. Payments above
    5,000 yen are confirmed with a passkey (the browser journey's step-up)."""
    from anchorid.currency import demo as currency_demo

    root = tmp_path_factory.mktemp("currency")
    url = f"http://127.0.0.1:{free_port()}"
    env = dict(parties.city.env, ANCHORID_CURRENCY_ORIGIN=url, ANCHORID_CURRENCY_STEP_UP_YEN="5000")
    env.pop("ANCHORID_CITY_ORIGIN", None)
    server = Server("currency", url, root / "currency", env)
    run("currency", "setup", "--data", str(server.data), "--idp", parties.idp.url, "--origin", url,
        "--idp-data", str(parties.idp.data), "--sector-identifier-uri", currency_demo.SECTOR,
        env=parties.idp.env)  # fmt: skip
    run("currency", "seed-demo", "--data", str(server.data), env=env)
    server.start("/")
    try:
        yield server
    finally:
        server.stop()
