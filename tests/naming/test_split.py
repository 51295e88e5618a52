"""Weighted traffic split over a bound tree (NameTreeFactoryTest W1, W4; Drv)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from roost.naming import EMPTY, FAIL, NEG, Leaf, NameTree, Union, Weighted
from roost.naming.split import Drv, Splitter


def draws(tree: NameTree[str], n: int = 100_000) -> Counter[str | None]:
    splitter = Splitter(tree, random.Random(11))
    return Counter(splitter.pick() for _ in range(n))


def test_w1_zero_weight_unreachables_are_dropped_and_all_zero_is_uniform() -> None:
    tree: NameTree[str] = Union(
        Weighted(0, NEG), Weighted(0, FAIL), Weighted(0, EMPTY), Weighted(0, Leaf("foo"))
    )
    assert draws(tree, 1000) == Counter({"foo": 1000})
    both = draws(Union(Weighted(0, Leaf("a")), Weighted(0, Leaf("b"))), 10_000)
    assert abs(both["a"] - 5000) < 300


def test_w4_draws_follow_the_weights_within_five_percent() -> None:
    n = 100_000
    counts = draws(
        Union(
            Weighted(0.7 * n, Leaf("a")), Weighted(0.2 * n, Leaf("s")), Weighted(0.1 * n, Leaf("p"))
        ),
        n,
    )
    for name, share in (("a", 0.7), ("s", 0.2), ("p", 0.1)):
        assert abs(counts[name] / n - share) < 0.05 * share


def test_a_weighted_empty_branch_keeps_its_share_with_no_endpoint() -> None:
    counts = draws(Union(Weighted(9, Leaf("new")), Weighted(1, EMPTY)))
    assert abs(counts[None] / 100_000 - 0.1) < 0.01  # a tenth finds no endpoint


def test_nested_unions_multiply() -> None:
    inner = Union(Weighted(1, Leaf("b1")), Weighted(1, Leaf("b2")))
    counts = draws(Union(Weighted(1, Leaf("a")), Weighted(1, inner)))
    assert abs(counts["b1"] / 100_000 - 0.25) < 0.01


def test_a_single_leaf_and_nothing_at_all() -> None:
    assert draws(Leaf("only"), 10) == Counter({"only": 10})
    assert draws(NEG, 10) == Counter({None: 10})


@pytest.mark.parametrize("weights", [[], [-1.0, 1.0], [float("nan")], [float("inf")]])
def test_bad_weights_are_refused(weights: list[float]) -> None:
    with pytest.raises(ValueError):
        Drv(weights)
