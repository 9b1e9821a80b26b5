"""Claims: which scope asks for which claim (OIDC Core §5.4), the ``claims`` request parameter (§5.5), and the
values released about a resident (§5.1 standard claims, plus our derived ones).

Scopes: ``profile`` → name, gender, birthdate; ``address`` → address; ``anchorid:age`` → age_over_18,
age_over_65; ``anchorid:residence`` → resident_of; ``anchorid:verified`` → verified_claims (the released
attributes wrapped with how they were verified, ``ida``). Claims asked for by scope are voluntary (§5.4), so the
resident may deselect them; claims asked for with ``{"essential": true}`` in the ``claims`` parameter are essential
(§5.5.1) and can only be accepted or refused as a whole.

``age_over_15`` (youth participation) is in no scope: a client asks for it in the ``claims`` parameter.

Derived claims reveal less than their source: ``age_over_15``/``age_over_18``/``age_over_65`` are booleans from the
birth date on today's date in Japan, never the date; ``resident_of`` is the municipality's local government code (全国
地方公共団体コード, 6 digits with check digit), derived from the address's prefecture+municipality by a small table
(``MUNICIPALITY_CODES``) — the account stores the address only. An address outside the table gives no resident_of.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from anchorid.common import untrusted_json
from anchorid.idp.oidc.errors import INVALID_REQUEST, OAuthError
from anchorid.jpki.attributes import BasicFourInfo, Gender

JST = ZoneInfo("Asia/Tokyo")

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "openid": (),
    "profile": ("name", "gender", "birthdate"),
    "address": ("address",),
    "anchorid:age": ("age_over_18", "age_over_65"),
    "anchorid:residence": ("resident_of",),
    "anchorid:verified": ("verified_claims",),
}
KNOWN_CLAIMS = (
    "name",
    "gender",
    "birthdate",
    "address",
    "age_over_15",
    "age_over_18",
    "age_over_65",
    "resident_of",
    "verified_claims",
)
VERIFIABLE_CLAIMS = ("name", "gender", "birthdate", "address")
# Claims about the authentication, not the resident: requested in the claims parameter, never consented per claim.
AUTHENTICATION_CLAIMS = ("acr", "auth_time", "amr", "sub")

# 全国地方公共団体コード for the municipalities our addresses come from (Kamakura and its neighbours, and the
# seed's other areas). Longest prefix wins.
MUNICIPALITY_CODES: dict[str, str] = {
    "神奈川県鎌倉市": "142042",
    "神奈川県藤沢市": "142051",
    "神奈川県逗子市": "142085",
    "神奈川県横浜市": "141003",
    "神奈川県川崎市": "141305",
    "神奈川県三浦郡葉山町": "143014",
    "東京都清瀬市": "132217",
    "東京都千代田区": "131016",
}

PREFECTURE = re.compile(r"^(東京都|北海道|京都府|大阪府|.{2,3}?県)")
MUNICIPALITY = re.compile(r"^(.+?郡.+?[町村]|.+?市.+?区|.+?[市区町村])")


@dataclass
class RequestedClaims:
    """What one authorization request asks for: claim → essential?, where each goes, and verified_claims."""

    essential: dict[str, bool] = field(default_factory=dict)
    id_token: set[str] = field(default_factory=set)
    userinfo: set[str] = field(default_factory=set)
    verified: set[str] = field(default_factory=set)  # claims asked for inside verified_claims
    acr_values: list[str] = field(default_factory=list)  # from claims.id_token.acr (essential)
    acr_essential: bool = False

    def add(self, claim: str, essential: bool, where: str) -> None:
        self.essential[claim] = self.essential.get(claim, False) or essential
        (self.id_token if where == "id_token" else self.userinfo).add(claim)

    @property
    def names(self) -> list[str]:
        return sorted(self.essential)

    def as_json(self) -> dict[str, Any]:
        return {
            "essential": self.essential,
            "id_token": sorted(self.id_token),
            "userinfo": sorted(self.userinfo),
            "verified": sorted(self.verified),
        }


def requested_claims(scopes: list[str], claims_parameter: Any, allowed: list[str]) -> RequestedClaims:
    """Combine scope claims and the ``claims`` parameter; refuse claims the client may not ask for."""
    requested = RequestedClaims()
    for scope in scopes:
        for claim in SCOPE_CLAIMS.get(scope, ()):
            requested.add(claim, False, "userinfo")
    if "verified_claims" in requested.essential:
        requested.verified.update(c for c in VERIFIABLE_CLAIMS if c in requested.essential)
    if claims_parameter:
        _parse_claims_parameter(requested, claims_parameter)
    refused = [claim for claim in requested.essential if claim not in allowed]
    if refused:
        raise OAuthError(INVALID_REQUEST, f"this client may not ask for: {', '.join(sorted(refused))}")
    return requested


def _parse_claims_parameter(requested: RequestedClaims, raw: Any) -> None:
    try:
        document = untrusted_json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise OAuthError(INVALID_REQUEST, "claims is not valid JSON") from None
    if not isinstance(document, dict) or set(document) - {"id_token", "userinfo"}:
        raise OAuthError(INVALID_REQUEST, "claims must be an object with id_token and/or userinfo members")
    for where, members in document.items():
        if not isinstance(members, dict):
            raise OAuthError(INVALID_REQUEST, f"claims.{where} must be an object")
        for claim, spec in members.items():
            if spec is not None and not isinstance(spec, dict):
                raise OAuthError(INVALID_REQUEST, f"claims.{where}.{claim} must be null or an object")
            if claim == "verified_claims":
                _parse_verified_claims(requested, spec, where)
                continue
            essential = bool(spec and spec.get("essential") is True)
            if claim == "acr" and where == "id_token" and spec:
                values = spec.get("values") or ([spec["value"]] if "value" in spec else [])
                if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                    raise OAuthError(INVALID_REQUEST, "claims.id_token.acr values must be strings")
                requested.acr_values, requested.acr_essential = values, essential
                continue
            if claim in AUTHENTICATION_CLAIMS:
                continue
            if claim not in KNOWN_CLAIMS:
                continue  # OIDC Core §5.5: claims the OP does not know are ignored
            requested.add(claim, essential, where)


def _parse_verified_claims(requested: RequestedClaims, spec: Any, where: str) -> None:
    """OpenID Connect for Identity Assurance 1.0 §6: ``{"verification": {...}, "claims": {name: null, ...}}``."""
    if not isinstance(spec, dict) or not isinstance(spec.get("claims"), dict) or not spec["claims"]:
        raise OAuthError(INVALID_REQUEST, "verified_claims must have a non-empty claims object")
    if "verification" in spec and not isinstance(spec["verification"], dict):
        raise OAuthError(INVALID_REQUEST, "verified_claims.verification must be an object")
    requested.add("verified_claims", False, where)
    for inner, inner_spec in spec["claims"].items():
        if inner_spec is not None and not isinstance(inner_spec, dict):
            raise OAuthError(INVALID_REQUEST, "verified_claims.claims members must be null or objects")
        if inner not in VERIFIABLE_CLAIMS:
            continue
        essential = bool(inner_spec and inner_spec.get("essential") is True)
        requested.essential[inner] = requested.essential.get(inner, False) or essential
        requested.verified.add(inner)


# --- values -------------------------------------------------------------------------------------------------------


def age_on(birth_date: datetime.date, today: datetime.date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def today_in_japan() -> datetime.date:
    return datetime.datetime.now(JST).date()


def structured_address(address: str) -> dict[str, str]:
    """OIDC Core §5.1.1 address claim: formatted, region (prefecture), locality (municipality), street_address."""
    result = {"formatted": address, "country": "JP"}
    prefecture = PREFECTURE.match(address)
    if prefecture:
        result["region"] = prefecture.group(1)
        rest = address[prefecture.end() :]
        municipality = MUNICIPALITY.match(rest)
        if municipality:
            result["locality"] = municipality.group(1)
            street = rest[municipality.end() :].strip()
            if street:
                result["street_address"] = street
    return result


def municipality_code(address: str) -> str | None:
    best = max((prefix for prefix in MUNICIPALITY_CODES if address.startswith(prefix)), key=len, default=None)
    return MUNICIPALITY_CODES[best] if best else None


GENDER_VALUES = {Gender.MALE: "male", Gender.FEMALE: "female", Gender.UNKNOWN: "not_known"}


def claim_values(
    info: BasicFourInfo, names: set[str] | list[str], today: datetime.date | None = None
) -> dict[str, Any]:
    """The values of ``names`` (plain claims; verified_claims is built by ``ida``) for these attributes."""
    today = today or today_in_japan()
    values: dict[str, Any] = {}
    for name in names:
        if name == "name":
            values["name"] = info.name
        elif name == "gender":
            values["gender"] = GENDER_VALUES[info.gender]
        elif name == "birthdate":
            values["birthdate"] = info.birth_date.isoformat()
        elif name == "address":
            values["address"] = structured_address(info.address)
        elif name == "age_over_15":
            values["age_over_15"] = age_on(info.birth_date, today) >= 15
        elif name == "age_over_18":
            values["age_over_18"] = age_on(info.birth_date, today) >= 18
        elif name == "age_over_65":
            values["age_over_65"] = age_on(info.birth_date, today) >= 65
        elif name == "resident_of":
            code = municipality_code(info.address)
            if code:
                values["resident_of"] = code
    return values
