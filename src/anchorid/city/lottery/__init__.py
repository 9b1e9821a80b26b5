"""Lottery rounds (抽選) for popular facilities: entries with ranked choices, a commit-then-reveal draw anyone can
re-run, confirmation of wins, and release of what is left to a second, first-come round. See docs/lottery.md."""
