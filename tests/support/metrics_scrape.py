"""Scrape a party's ``/metrics`` through its production WSGI application (or over HTTP) and read it with
prometheus_client's own parser."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

from support.fuzz_http import FuzzRequest, call


@dataclass(frozen=True)
class Scrape:
    """Every sample of one scrape: ``(name, labels) -> value``."""

    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]
    families: dict[str, str]  # name -> type

    def value(self, name: str, **labels: str) -> float:
        """The sample ``name`` with exactly ``labels`` (0.0 when absent: a counter not yet counted)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def total(self, name: str, **labels: str) -> float:
        """Sum of the samples ``name`` whose labels include ``labels``."""
        wanted = set(labels.items())
        return sum(value for (sample, have), value in self.samples.items() if sample == name and wanted <= have)

    def label_values(self) -> set[str]:
        return {value for _, labels in self.samples for _, value in labels}

    def labels_of(self, name: str) -> list[dict[str, str]]:
        return [dict(labels) for sample, labels in self.samples if sample == name]


def parse(text: str) -> Scrape:
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    families: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        families[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return Scrape(samples, families)


def scrape(application: Callable[..., Iterable[bytes]], **request: Any) -> Scrape:
    """GET /metrics from loopback through ``application``; asserts a 200 in the text exposition format."""
    answer = call(application, FuzzRequest("GET", "/metrics", **request))
    assert answer.status == 200, answer.body[:300]
    assert dict(answer.headers)["Content-Type"].startswith("text/plain; version=")
    return parse(answer.body.decode())


def scrape_url(base_url: str, **headers: str) -> Scrape:
    """GET base_url/metrics over HTTP."""
    response = requests.get(f"{base_url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text[:300]
    return parse(response.text)
