"""Ballot rules, the count, and the published ballot document anyone can re-check (no Django in this module).

- ``validate_choices``: is a basket allowed under the process's vote kind (single, multiple, approval N of M,
  participatory budgeting with its budget and minimum-percentage rule, or CONSUL's approval variant)?
- ``count``: the result from the ballots — per option and assurance (verified resident, AnchorID, anonymous), the
  weighted score under the published weights, and the winners (for budgets: the knapsack, CONSUL's way — projects
  by score, each funded while the money lasts).
- ``document``/``sign``/``verify_document``: the ballot document published after the vote closes (every ballot id
  with its choices, the result, their SHA-256 digests) and its ES256 signature by the platform's tally key;
  ``anchorid participation tally verify`` runs ``verify_document``.

Canonical JSON: UTF-8, keys sorted, no spaces; ballots sorted by ballot id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

FORMAT = "anchorid-participation-ballots/1"
ASSURANCE_ORDER = ("resident", "anchorid", "anonymous")


class BallotRejected(ValueError):
    """A basket the rules do not allow; ``code`` for tests, the message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class DocumentError(ValueError):
    """A ballot document that does not hold together (missing fields, wrong types)."""


@dataclass(frozen=True)
class Option:
    id: int
    title: str
    cost: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "cost": self.cost}


@dataclass(frozen=True)
class Rules:
    kind: str
    max_choices: int
    budget_total: int
    budget_min_percent: int
    weights: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "max_choices": self.max_choices, "budget_total": self.budget_total,
            "budget_min_percent": self.budget_min_percent, "weights": dict(sorted(self.weights.items())),
        }  # fmt: skip


def validate_choices(rules: Rules, options: Sequence[Option], choices: Sequence[int]) -> list[int]:
    """The basket, sorted, or ``BallotRejected``."""
    known = {option.id: option for option in options}
    if len(set(choices)) != len(choices):
        raise BallotRejected("duplicate", "The same option was chosen twice.")
    if not choices:
        raise BallotRejected("empty", "Choose at least one option.")
    if any(choice not in known for choice in choices):
        raise BallotRejected("unknown_option", "An option on this ballot does not exist.")
    if rules.kind == "single" and len(choices) != 1:
        raise BallotRejected("too_many", "Choose exactly one option.")
    if rules.kind in ("multiple", "approval", "budget_approval") and len(choices) > rules.max_choices:
        raise BallotRejected("too_many", f"Choose at most {rules.max_choices} options.")
    if rules.kind == "budget":
        spent = sum(known[choice].cost for choice in choices)
        if spent > rules.budget_total:
            raise BallotRejected("over_budget", "The projects you chose cost more than the budget.")
        minimum = rules.budget_total * rules.budget_min_percent
        if spent * 100 < minimum:
            raise BallotRejected("under_minimum",
                                 f"Spend at least {rules.budget_min_percent} % of the budget.")  # fmt: skip
    return sorted(choices)


def _weighted(counts: dict[str, int], weights: dict[str, float]) -> float:
    return round(sum(counts[a] * float(weights.get(a, 0.0)) for a in ASSURANCE_ORDER), 6)


def count(rules: Rules, options: Sequence[Option], ballots: Iterable[tuple[str, Sequence[int]]]) -> dict[str, Any]:
    """The result from ``(assurance, choices)`` pairs. Deterministic: ties by option id."""
    per_option = {option.id: dict.fromkeys(ASSURANCE_ORDER, 0) for option in options}
    ballots_by_assurance = dict.fromkeys(ASSURANCE_ORDER, 0)
    for assurance, choices in ballots:
        ballots_by_assurance[assurance] += 1
        for choice in choices:
            per_option[choice][assurance] += 1
    rows: list[dict[str, Any]] = []
    for option in options:
        counts = per_option[option.id]
        rows.append({"option": option.id, "counts": counts, "total": sum(counts.values()),
                     "weighted": _weighted(counts, rules.weights)})  # fmt: skip
    ranking = sorted(rows, key=lambda row: (-row["weighted"], row["option"]))
    costs = {option.id: option.cost for option in options}
    winners: list[int] = []
    if rules.kind in ("budget", "budget_approval"):
        remaining = rules.budget_total
        for row in ranking:
            if row["weighted"] > 0 and costs[row["option"]] <= remaining:
                winners.append(row["option"])
                remaining -= costs[row["option"]]
    elif ranking and ranking[0]["weighted"] > 0:
        seats = 1 if rules.kind == "single" else rules.max_choices
        winners = [row["option"] for row in ranking[:seats] if row["weighted"] > 0]
    return {
        "ballots": ballots_by_assurance,
        "ballots_total": sum(ballots_by_assurance.values()),
        "options": rows,
        "ranking": [row["option"] for row in ranking],
        "winners": winners,
    }


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(value: object) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def document(process: str, title: str, rules: Rules, options: Sequence[Option],
             ballots: Iterable[tuple[str, str, Sequence[int]]], published_at: str) -> dict[str, Any]:  # fmt: skip
    """The published document from ``(ballot_id, assurance, choices)`` triples (unsigned)."""
    listed = sorted(({"ballot": b, "assurance": a, "choices": sorted(c)} for b, a, c in ballots),
                    key=lambda item: str(item["ballot"]))  # fmt: skip
    result = count(rules, options, [(item["assurance"], item["choices"]) for item in listed])  # type: ignore[misc]
    return {
        "format": FORMAT,
        "process": process,
        "title": title,
        "rules": rules.as_dict(),
        "options": [option.as_dict() for option in options],
        "ballots": listed,
        "ballots_digest": digest(listed),
        "result": result,
        "result_digest": digest(result),
        "published_at": published_at,
    }


def _signed_part(doc: dict[str, Any]) -> bytes:
    """What the signature covers: the digest of the whole document except the signature itself."""
    body = {key: value for key, value in doc.items() if key != "signature"}
    return canonical_json({"format": FORMAT, "process": doc.get("process"), "document_digest": digest(body)})


def sign(doc: dict[str, Any], key: ECKey) -> dict[str, Any]:
    """The document with ``signature``: a compact JWS (ES256) over its digest, and the public key."""
    token = jws.serialize_compact({"alg": "ES256", "kid": key.kid or key.thumbprint()}, _signed_part(doc), key)
    public = key.as_dict(private=False)
    public.update(kid=key.kid or key.thumbprint(), alg="ES256")
    return {**doc, "signature": {"jws": token, "jwk": public}}


@dataclass
class Verification:
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    def add(self, name: str, passed: bool, detail: str = "") -> None:
        self.checks.append((name, passed, detail))

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(passed for _, passed, _ in self.checks)


def _rules(doc: dict[str, Any]) -> Rules:
    raw = doc.get("rules")
    if not isinstance(raw, dict):
        raise DocumentError("the document has no rules")
    try:
        weights = {str(k): float(v) for k, v in dict(raw["weights"]).items()}
        return Rules(kind=str(raw["kind"]), max_choices=int(raw["max_choices"]), budget_total=int(raw["budget_total"]),
                     budget_min_percent=int(raw["budget_min_percent"]), weights=weights)  # fmt: skip
    except (KeyError, TypeError, ValueError):
        raise DocumentError("the rules are incomplete") from None


def _options(doc: dict[str, Any]) -> list[Option]:
    raw = doc.get("options")
    if not isinstance(raw, list):
        raise DocumentError("the document has no options")
    try:
        return [Option(id=int(o["id"]), title=str(o["title"]), cost=int(o["cost"])) for o in raw]
    except (KeyError, TypeError, ValueError):
        raise DocumentError("an option is not {id, title, cost}") from None


def _ballots(doc: dict[str, Any]) -> list[dict[str, Any]]:
    raw = doc.get("ballots")
    if not isinstance(raw, list):
        raise DocumentError("the document has no ballots (they are published when the vote closes)")
    for item in raw:
        if not (isinstance(item, dict) and isinstance(item.get("ballot"), str)
                and item.get("assurance") in ASSURANCE_ORDER and isinstance(item.get("choices"), list)
                and all(isinstance(c, int) and not isinstance(c, bool) for c in item["choices"])):  # fmt: skip
            raise DocumentError("a ballot is not {ballot, assurance, choices}")
    return raw


def verify_document(doc: dict[str, Any], *, trusted_key: dict[str, Any] | None = None) -> Verification:
    """Re-check a published document: the signature, both digests, every ballot against the rules, and the result
    recomputed from the ballots. ``trusted_key``: the platform's published tally key (else the one in the
    document is used, and the report says so). Raises ``DocumentError`` when it cannot be checked at all."""
    if doc.get("format") != FORMAT:
        raise DocumentError(f"unknown format {doc.get('format')!r} (this tool knows {FORMAT})")
    report = Verification()
    rules, options, ballots = _rules(doc), _options(doc), _ballots(doc)
    signature = doc.get("signature")
    if not isinstance(signature, dict) or not isinstance(signature.get("jws"), str):
        report.add("the document is signed", False, "no signature")
    else:
        jwk = trusted_key or signature.get("jwk")
        try:
            key = ECKey.import_key(jwk)  # type: ignore[arg-type]
            token = jws.deserialize_compact(signature["jws"], key, algorithms=["ES256"])
            good = hmac.compare_digest(token.payload, _signed_part(doc))
            detail = "the platform's published key" if trusted_key else "the key inside the document"
        except (JoseError, ValueError, TypeError) as error:
            good, detail = False, type(error).__name__
        report.add("the signature covers this exact document", good, detail)
    ballots_digest = digest(ballots)
    report.add("the ballot list matches its published digest",
               hmac.compare_digest(ballots_digest, str(doc.get("ballots_digest", ""))),
               f"computed {ballots_digest}")  # fmt: skip
    ids = [item["ballot"] for item in ballots]
    report.add("every ballot id appears once", len(ids) == len(set(ids)), f"{len(ids)} ballots")
    bad = 0
    for item in ballots:
        try:
            validate_choices(rules, options, item["choices"])
        except BallotRejected:
            bad += 1
    report.add("every ballot follows the published rules", bad == 0, f"{bad} ballot(s) break them" if bad else "")
    recomputed = count(rules, options, [(item["assurance"], item["choices"]) for item in ballots]) if not bad else {}
    report.add("recounting the ballots gives the published result", recomputed == doc.get("result"),
               f"winners {recomputed.get('winners')}")  # fmt: skip
    report.add("the result matches its published digest",
               hmac.compare_digest(digest(doc.get("result")), str(doc.get("result_digest", ""))))  # fmt: skip
    return report
