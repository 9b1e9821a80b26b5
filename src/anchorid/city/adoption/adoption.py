"""AnchorID's own adoption in the city: the idp's k-anonymous cumulative counts (read with the city's own client,
client_credentials + ``adoption.read``), set against the city's population by coarse band and sex, and where to
act. Suppressed cells stay suppressed here: the share of a cell under k is shown as "under 10", never estimated."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anchorid.city.adoption.models import AdoptionCell, CityIssuance
from anchorid.city.adoption.tables import Band
from anchorid.common.adoption_bands import BAND_LABELS, K_ANONYMITY, band_of_table_row
from anchorid.common.rp.client import PRIVATE_KEY_JWT, AnchorIDClient

SCOPE = "adoption.read"
COUNTS_PATH = "/adoption/v1/counts"
SEXES = ("male", "female")


class FetchError(Exception):
    """The idp refused or did not answer; nothing was changed."""


def fetch(rp: AnchorIDClient) -> dict[str, Any]:
    """The idp's published counts, with a client_credentials token of the city's own client."""
    import requests

    session = rp.oauth_session()
    try:
        session.fetch_token(
            rp.metadata["token_endpoint"], grant_type="client_credentials", scope=SCOPE,
            auth=session.client_auth(PRIVATE_KEY_JWT),
        )  # fmt: skip
        response = session.get(rp.config.issuer.rstrip("/") + COUNTS_PATH, timeout=10)
    except requests.RequestException as error:
        raise FetchError(f"the idp could not be reached ({type(error).__name__})") from error
    except Exception as error:  # Authlib's OAuthError carries the token endpoint's error code
        code = getattr(error, "error", None)
        if not isinstance(code, str):
            raise
        raise FetchError(f"token: {code}") from error
    if response.status_code != 200:
        raise FetchError(f"counts: HTTP {response.status_code}")
    body: dict[str, Any] = response.json()
    return body


def store(published: dict[str, Any], now: datetime.datetime | None = None) -> int:
    """Replace the stored cells with the idp's answer (checked: known bands and sexes, counts ≥ k or null)."""
    now = now or timezone.now()
    cells: list[AdoptionCell] = []
    for week in published.get("weeks", []):
        day = datetime.date.fromisoformat(week["week"])
        for cell in week["cells"]:
            value = cell["cumulative"]
            if cell["age_band"] not in BAND_LABELS or cell["sex"] not in SEXES:
                raise FetchError("the counts name an unknown band or sex")
            if value is not None and (not isinstance(value, int) or value < K_ANONYMITY):
                raise FetchError("a published cell is under k")
            cells.append(AdoptionCell(week=day, age_band=cell["age_band"], sex=cell["sex"], cumulative=value,
                                      fetched_at=now))  # fmt: skip
    with transaction.atomic():
        AdoptionCell.objects.all().delete()
        AdoptionCell.objects.bulk_create(cells)
    return len(cells)


def city_bands() -> list[Band]:
    return [
        Band(row.age_band, row.population_male, row.population_female, row.issued_male, row.issued_female)
        for row in CityIssuance.objects.all()
    ]


def coarse_population(bands: list[Band]) -> dict[tuple[str, str], int]:
    """Population per (coarse band, sex) from a five-year table."""
    totals = {(band, sex): 0 for band in BAND_LABELS for sex in SEXES}
    for row in bands:
        coarse = band_of_table_row(row.age_band)
        if coarse is not None:
            totals[(coarse, "male")] += row.population_male
            totals[(coarse, "female")] += row.population_female
    return totals


@dataclass(frozen=True)
class Share:
    week: datetime.date
    age_band: str
    sex: str
    onboarded: int | None  # None: suppressed (under k)
    population: int

    @property
    def share_pct(self) -> float | None:
        if self.onboarded is None or not self.population:
            return None
        return 100 * self.onboarded / self.population

    @property
    def upper_bound_pct(self) -> float:
        """The share, or for a suppressed cell the most it can be (k - 1 residents)."""
        if not self.population:
            return 0.0
        count = self.onboarded if self.onboarded is not None else K_ANONYMITY - 1
        return 100 * count / self.population


def weekly_shares() -> list[Share]:
    population = coarse_population(city_bands())
    return [
        Share(cell.week, cell.age_band, cell.sex, cell.cumulative, population.get((cell.age_band, cell.sex), 0))
        for cell in AdoptionCell.objects.all()
    ]


def latest_shares(shares: list[Share]) -> list[Share]:
    if not shares:
        return []
    last = max(share.week for share in shares)
    return [share for share in shares if share.week == last]


#: What reaches each band (issue #18 §4 "where to act"); the band decides, the data picks which bands.
MEASURES: dict[str, Any] = {
    "0-14": _("Guardian onboarding: a parent with an account opens the child's account (auth certificate only)."),
    "15-19": _("Schools and the 15th birthday: invite at the counter when the signature certificate is issued."),
    "20-29": _("Evening and weekend counter hours, employers and universities; online onboarding reminders."),
    "30-39": _("Evening and weekend counter hours, employers, child-care and school contacts of parents."),
    "70-79": _("The city counter registers and books on the resident's behalf; community centre sessions."),
    "80+": _("The city counter and home visits by staff; family members helped at the counter."),
}
DEFAULT_MEASURE = _("Outreach at libraries and community centres; the city newsletter.")


@dataclass(frozen=True)
class Action:
    age_band: str
    sex: str
    share: Share
    national_rate: float
    measure: Any


def where_to_act(shares: list[Share], national: list[Band], count: int = 3) -> list[Action]:
    """The ``count`` band × sex cells furthest behind (lowest share, a suppressed cell at its upper bound)."""
    rates: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for row in national:
        coarse = band_of_table_row(row.age_band)
        if coarse is not None:
            rates.setdefault((coarse, "male"), []).append((row.issued_male, row.population_male))
            rates.setdefault((coarse, "female"), []).append((row.issued_female, row.population_female))

    def rate(key: tuple[str, str]) -> float:
        issued = sum(i for i, _ in rates.get(key, []))
        people = sum(p for _, p in rates.get(key, []))
        return 100 * issued / people if people else 0.0

    behind = sorted((s for s in latest_shares(shares) if s.population), key=lambda s: (s.upper_bound_pct, s.age_band))
    return [
        Action(s.age_band, s.sex, s, rate((s.age_band, s.sex)), MEASURES.get(s.age_band, DEFAULT_MEASURE))
        for s in behind[:count]
    ]


SHARES_HEADER = ["week", "age_band", "sex", "onboarded_cumulative", "population", "share_pct"]


def share_rows(shares: list[Share]) -> list[list[Any]]:
    return [
        [s.week.isoformat(), s.age_band, s.sex, s.onboarded if s.onboarded is not None else f"<{K_ANONYMITY}",
         s.population, round(s.share_pct, 2) if s.share_pct is not None else ""]
        for s in shares
    ]  # fmt: skip
