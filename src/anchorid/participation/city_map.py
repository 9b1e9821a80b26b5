"""A proposal's location drawn on a schematic of the city, as inline SVG made on the server.

No map tiles: the platform's pages load nothing from elsewhere (the strict CSP), and no map data of the city is
vendored. So the drawing is honest about being a schematic: the city's bounding box, a few stations and the coast as
straight lines between known points (their coordinates below, rounded), and the proposal's point — with the
coordinates in words beside it for screen readers and for anyone who wants to look them up elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

#: Kamakura's extent (south, west, north, east), rounded outwards.
SOUTH, WEST, NORTH, EAST = 35.290, 139.490, 35.365, 139.590
WIDTH, HEIGHT = 320, 240
LANDMARKS = (("大船駅", 35.3540, 139.5310), ("北鎌倉駅", 35.3372, 139.5456), ("鎌倉駅", 35.3190, 139.5504),
             ("長谷駅", 35.3122, 139.5335))  # fmt: skip
#: The coast from Koshigoe to Zaimokuza, straight lines between rounded points (a schematic, not a survey).
COAST = ((35.3030, 139.4950), (35.3060, 139.5200), (35.3080, 139.5400), (35.3050, 139.5600), (35.2960, 139.5800))


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str = ""


def within(latitude: Decimal | float, longitude: Decimal | float) -> bool:
    return SOUTH <= float(latitude) <= NORTH and WEST <= float(longitude) <= EAST


def project(latitude: float, longitude: float, label: str = "") -> Point:
    """Equirectangular onto the drawing (at this size the city is flat enough)."""
    x = (longitude - WEST) / (EAST - WEST) * WIDTH
    y = (NORTH - latitude) / (NORTH - SOUTH) * HEIGHT
    return Point(round(x, 1), round(y, 1), label)


def drawing(latitude: Decimal | float, longitude: Decimal | float) -> dict[str, object]:
    """What the template draws: the point, the landmarks, the coast's polyline points, the size."""
    return {
        "width": WIDTH, "height": HEIGHT, "point": project(float(latitude), float(longitude)),
        "landmarks": [project(lat, lon, name) for name, lat, lon in LANDMARKS],
        "coast": " ".join(f"{p.x},{p.y}" for p in (project(lat, lon) for lat, lon in COAST)),
        "latitude": f"{float(latitude):.4f}", "longitude": f"{float(longitude):.4f}",
    }  # fmt: skip
