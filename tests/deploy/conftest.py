"""One local deployment (``scripts/deploy-local``) for the whole run: it takes about a minute to start."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .deployment import Deployment, start, stop


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    started = start(tmp_path_factory.mktemp("deploy") / "deployment")
    # The tests' own HTTP clients (requests, Authlib) trust the deployment's CA.
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = started.ca
    try:
        yield started
    finally:
        if previous is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous
        stop(started)


@pytest.fixture(scope="session")
def new_card(deployment: Deployment) -> Callable[[], dict[str, Any]]:
    """A seeded adult's virtual card nobody has onboarded with yet (one person, one account)."""
    cards = iter(deployment.cards())
    return lambda: next(cards)
