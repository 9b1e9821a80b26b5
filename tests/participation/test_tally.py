"""The ballot rules and the count, without Django: single, multiple, approval N of M, participatory budgeting with
the minimum-percentage rule and CONSUL's approval variant; the split by assurance and the weighted result."""

from __future__ import annotations

import pytest

from anchorid.participation.tally import BallotRejected, Option, Rules, count, validate_choices

OPTIONS = [Option(1, "a", 400), Option(2, "b", 300), Option(3, "c", 300), Option(4, "d", 200)]
WEIGHTS = {"resident": 1.0, "anchorid": 0.5, "anonymous": 0.0}


def rules(kind: str, *, max_choices: int = 2, minimum: int = 50) -> Rules:
    return Rules(kind=kind, max_choices=max_choices, budget_total=1000, budget_min_percent=minimum, weights=WEIGHTS)


@pytest.mark.parametrize(
    ("kind", "choices", "code"),
    [
        ("budget", [1, 2, 3, 4], "over_budget"),
        ("budget", [4], "under_minimum"),
        ("budget", [1, 9], "unknown_option"),
        ("budget", [1, 1], "duplicate"),
        ("budget", [], "empty"),
        ("single", [1, 2], "too_many"),
        ("approval", [1, 2, 3], "too_many"),
        ("budget_approval", [1, 2, 3], "too_many"),
    ],
)
def test_it_refuses_baskets_the_rules_do_not_allow(kind: str, choices: list[int], code: str) -> None:
    with pytest.raises(BallotRejected) as refused:
        validate_choices(rules(kind), OPTIONS, choices)
    assert refused.value.code == code


def test_it_accepts_a_basket_within_the_budget_and_above_the_minimum_share() -> None:
    assert validate_choices(rules("budget"), OPTIONS, [3, 1, 2]) == [1, 2, 3]  # exactly the budget
    assert validate_choices(rules("budget_approval"), OPTIONS, [1, 2]) == [1, 2]  # the approval variant: no money
    assert validate_choices(rules("approval", max_choices=3), OPTIONS, [1, 2, 4]) == [1, 2, 4]


def test_it_counts_split_by_assurance_and_weighs_under_the_published_rule() -> None:
    ballots = [("resident", [1]), ("resident", [2]), ("anchorid", [1]), ("anonymous", [2]), ("anonymous", [2])]
    result = count(rules("single"), OPTIONS, ballots)
    rows = {row["option"]: row for row in result["options"]}
    assert rows[1]["counts"] == {"resident": 1, "anchorid": 1, "anonymous": 0}
    assert rows[1]["weighted"] == 1.5
    assert rows[2]["counts"] == {"resident": 1, "anchorid": 0, "anonymous": 2}
    assert rows[2]["weighted"] == 1.0
    assert rows[2]["total"] == 3  # more raw votes, but anonymous ones count 0.0: option 1 wins
    assert result["winners"] == [1]
    assert result["ballots"] == {"resident": 2, "anchorid": 1, "anonymous": 2}


def test_it_funds_budget_winners_by_score_while_the_money_lasts() -> None:
    ballots = [("resident", [1, 2, 3])] * 3 + [("resident", [2, 4])] * 2 + [("resident", [3, 4])]
    result = count(rules("budget"), OPTIONS, ballots)
    # scores: 2 → 5, 3 → 4, 1 → 3, 4 → 3; funded 2 (300), 3 (300), 1 (400) = 1000; 4 no longer fits
    assert result["ranking"] == [2, 3, 1, 4]
    assert result["winners"] == [2, 3, 1]
