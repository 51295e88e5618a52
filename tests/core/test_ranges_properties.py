"""Ranges agrees with Python sets of integers on small universes.

Every property compares a ``Ranges`` with the plain ``set[int]`` it covers, so "merge",
"subtract", "contains" and "first" are checked against the obvious model.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from roost.core.ranges import Ranges

FEW = settings(max_examples=100, deadline=None)

# A small universe (0..80) makes overlaps, touching spans and gaps all common.
span = st.tuples(st.integers(0, 80), st.integers(0, 12)).map(lambda t: (t[0], t[0] + t[1]))
span_lists = st.lists(span, max_size=7)
ranges = span_lists.map(Ranges)


def covered(spans: list[tuple[int, int]]) -> set[int]:
    return {i for b, e in spans for i in range(b, e + 1)}


def model(r: Ranges) -> set[int]:
    return covered(list(r.spans))


@FEW
@given(span_lists)
def test_merge_normalises_spans(spans: list[tuple[int, int]]) -> None:
    r = Ranges(spans)
    for b, e in r.spans:
        assert b <= e
    for (_, e1), (b2, _) in zip(r.spans, r.spans[1:], strict=False):
        # sorted, non-overlapping and non-adjacent: a gap of at least one integer
        assert b2 > e1 + 1
    assert model(r) == covered(spans)


@FEW
@given(span_lists, st.randoms())
def test_input_order_does_not_matter(spans: list[tuple[int, int]], rnd: object) -> None:
    shuffled = list(spans)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert Ranges(shuffled) == Ranges(spans)
    assert hash(Ranges(shuffled)) == hash(Ranges(spans))


@FEW
@given(span_lists)
def test_len_and_iteration_match_the_covered_set(spans: list[tuple[int, int]]) -> None:
    r = Ranges(spans)
    assert len(r) == len(covered(spans))
    assert list(r) == sorted(covered(spans))
    assert bool(r) == bool(spans)


@FEW
@given(ranges, ranges)
def test_add_is_set_union_and_commutes(a: Ranges, b: Ranges) -> None:
    assert model(a + b) == model(a) | model(b)
    assert a + b == b + a
    assert (a + b).spans == Ranges(list(a.spans) + list(b.spans)).spans


@FEW
@given(ranges, ranges)
def test_subtract_is_set_difference(a: Ranges, b: Ranges) -> None:
    diff = a - b
    assert model(diff) == model(a) - model(b)
    # the result is normalised too, so it equals a freshly built Ranges
    assert diff == Ranges(list(diff.spans))
    assert diff.spans == Ranges(list(diff.spans)).spans


@FEW
@given(ranges, ranges)
def test_add_then_subtract_returns_what_was_not_shared(a: Ranges, b: Ranges) -> None:
    # (a + b) - b is a \ b: exactly a when a and b share no integer, smaller otherwise.
    assert (a + b) - b == a - b
    if not model(a) & model(b):
        assert (a + b) - b == a


@FEW
@given(ranges, ranges)
def test_contains_is_subset(a: Ranges, b: Ranges) -> None:
    assert a.contains(b) == (model(b) <= model(a))
    assert a.contains(b) == (not (b - a))


@FEW
@given(ranges, ranges, ranges)
def test_contains_is_reflexive_and_transitive(a: Ranges, b: Ranges, c: Ranges) -> None:
    assert a.contains(a)
    assert a.contains(Ranges())
    assert (a + b).contains(a)
    assert a.contains(a - b)
    big, mid, small = a + b + c, a + b, a
    assert big.contains(mid) and mid.contains(small) and big.contains(small)
    if a.contains(b) and b.contains(c):
        assert a.contains(c)


@FEW
@given(ranges, st.integers(-1, 90))
def test_membership_of_one_integer(r: Ranges, i: int) -> None:
    assert (i in r) == (i in model(r))


@FEW
@given(ranges, st.integers(-2, 120))
def test_first_picks_the_lowest(r: Ranges, n: int) -> None:
    picked = r.first(n)
    assert list(picked) == sorted(model(r))[: max(n, 0)]
    assert r.contains(picked)
    assert picked == Ranges(list(picked.spans))


@FEW
@given(ranges)
def test_text_and_json_round_trip(r: Ranges) -> None:
    assert Ranges.parse(str(r)) == r
    assert Ranges.from_json(r.to_json()) == r
    assert Ranges.from_json(json.loads(json.dumps(r.to_json()))) == r
