"""Tests that count a rate limit against the real clock: the limiter counts in fixed windows aligned to multiples
of the window's length (``anchorid.common.ratelimit``), so attempts that straddle a window's end are counted in two
windows, up to twice the limit, as a fixed window allows by design. A test that asserts the exact count starts clear
of that edge."""

from __future__ import annotations

import time


def start_clear_of_a_window_edge(window_seconds: int, *, needed_seconds: float = 90.0) -> None:
    """Return at once when the current window has ``needed_seconds`` left; otherwise sleep into the next window."""
    left = window_seconds - time.time() % window_seconds
    if left < needed_seconds:
        time.sleep(left + 1)
