"""The benchmark's server for bench_participation.py: the participation platform's own settings and URLs, plus one
view that is the framework's ceiling — a POST through the same middleware (session, CSRF, locale, CSP) doing one
INSERT in a transaction. Never used outside the benchmark (``DJANGO_SETTINGS_MODULE=participation_ceiling``)."""

from __future__ import annotations

from anchorid.participation.settings import *  # noqa: F403

ROOT_URLCONF = "participation_ceiling_urls"
