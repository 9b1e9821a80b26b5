"""Generation stamps (anchorid.common.generations): a change announced in the database is seen by a process at its
next check, at most once per check interval, and the idp's caches drop their copies on it."""

from __future__ import annotations

import pytest

from anchorid.common.generations import Generation
from anchorid.common.models import CacheGeneration

pytestmark = pytest.mark.django_db


def test_it_sees_a_change_made_by_another_process_at_its_next_check() -> None:
    mine, theirs = Generation("test-thing", check_seconds=1.0), Generation("test-thing")
    assert mine.changed(now=100.0)  # the first look: this process cannot know how old its copy is
    assert not mine.changed(now=101.5)
    theirs.bump()
    assert not mine.changed(now=102.0)  # within the interval: no read
    assert mine.changed(now=102.6)
    assert not mine.changed(now=104.0)
    assert CacheGeneration.objects.get(name="test-thing").generation == 1


def test_it_counts_every_bump_in_one_row() -> None:
    stamp = Generation("test-counted")
    assert stamp.read() == 0
    for _ in range(3):
        stamp.bump()
    assert stamp.read() == 3
    assert CacheGeneration.objects.filter(name="test-counted").count() == 1
