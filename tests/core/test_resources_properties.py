"""The algebra of Resources, checked with generated resources.

What holds, exactly:

* ``+`` is commutative; scalars add, ranges and sets take the union.
* ``(a + b) - b == a - b.only(<non-scalar names>)``: scalars come back exactly, but ranges and
  sets lose whatever ``a`` shared with ``b`` (union then difference is ``a \\ b``). So
  ``(a + b) - b == a`` holds whenever ``a`` and ``b`` share no port and no set item.
* ``a.contains(b)`` exactly when ``b - a`` is empty.
* ``-`` floors scalars at zero and never leaves an empty entry.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roost.core.ranges import Ranges
from roost.core.resources import EMPTY, ResourceError, Resources, to_millis

FEW = settings(max_examples=60, deadline=None)

# Each name keeps one type, as on a real agent (mixing types for a name is an error).
SCALAR_NAMES = ("cpus", "mem", "disk", "gpus", "custom.widgets")
RANGE_NAMES = ("ports", "ephemeral_ports")
SET_NAMES = ("zones",)
NON_SCALARS = RANGE_NAMES + SET_NAMES

millis = st.one_of(st.integers(0, 5_000), st.integers(0, 10**15))
span = st.tuples(st.integers(0, 60), st.integers(0, 8)).map(lambda t: (t[0], t[0] + t[1]))
range_values = st.lists(span, max_size=4).map(Ranges)
set_values = st.frozensets(st.sampled_from(["a", "b", "c", "d", "e", "rack-1", "z.2"]))


@st.composite
def resources(draw: st.DrawFn) -> Resources:
    values: dict[str, int | Ranges | frozenset[str]] = {}
    for name in draw(st.lists(st.sampled_from(SCALAR_NAMES), unique=True)):
        values[name] = draw(millis)
    for name in draw(st.lists(st.sampled_from(RANGE_NAMES), unique=True)):
        values[name] = draw(range_values)
    for name in draw(st.lists(st.sampled_from(SET_NAMES), unique=True)):
        values[name] = draw(set_values)
    return Resources(values)


@FEW
@given(resources(), resources())
def test_add_commutes(a: Resources, b: Resources) -> None:
    assert a + b == b + a
    assert hash(a + b) == hash(b + a)


@FEW
@given(resources(), resources(), resources())
def test_add_associates(a: Resources, b: Resources, c: Resources) -> None:
    assert (a + b) + c == a + (b + c)


@FEW
@given(resources())
def test_empty_is_the_identity(a: Resources) -> None:
    assert a + EMPTY == a
    assert EMPTY + a == a
    assert a - EMPTY == a
    assert a - a == EMPTY
    assert EMPTY - a == EMPTY


@FEW
@given(resources(), resources())
def test_add_then_subtract(a: Resources, b: Resources) -> None:
    assert (a + b) - b == a - b.only(NON_SCALARS)
    # scalars always come back exactly
    assert ((a + b) - b).only(SCALAR_NAMES) == a.only(SCALAR_NAMES)


@FEW
@given(resources(), resources())
def test_add_then_subtract_is_identity_when_nothing_non_scalar_is_shared(
    a: Resources, b: Resources
) -> None:
    b_disjoint = b - a.only(NON_SCALARS)
    assert (a + b_disjoint) - b_disjoint == a


@FEW
@given(resources(), resources())
def test_sum_contains_both_parts(a: Resources, b: Resources) -> None:
    assert (a + b).contains(a)
    assert (a + b).contains(b)


@FEW
@given(resources(), resources())
def test_difference_is_contained(a: Resources, b: Resources) -> None:
    assert a.contains(a - b)


@FEW
@given(resources(), resources())
def test_contains_means_nothing_left_over(a: Resources, b: Resources) -> None:
    assert a.contains(b) == (b - a).is_empty()
    assert a.contains(b) == (a >= b)


@FEW
@given(resources(), resources(), resources())
def test_contains_is_reflexive_and_transitive(a: Resources, b: Resources, c: Resources) -> None:
    assert a.contains(a)
    assert a.contains(EMPTY)
    big, mid, small = a + b + c, a + b, a
    assert big.contains(mid) and mid.contains(small) and big.contains(small)
    shrunk, shrunk_more = a - b, a - b - c
    assert a.contains(shrunk) and shrunk.contains(shrunk_more) and a.contains(shrunk_more)
    if a.contains(b) and b.contains(c):
        assert a.contains(c)


@FEW
@given(resources(), resources())
def test_subtract_never_leaves_negative_or_empty_entries(a: Resources, b: Resources) -> None:
    for _, value in (a - b).items():
        if isinstance(value, int):
            assert value > 0
        else:
            assert value


@FEW
@given(st.integers(0, 10**6), st.integers(1, 50))
def test_repeated_addition_is_exact(m: int, n: int) -> None:
    one = Resources.scalars(cpus=m / 1000)
    assert one.millis("cpus") == m
    total = EMPTY
    for _ in range(n):
        total = total + one
    assert total.millis("cpus") == m * n
    for _ in range(n):
        total = total - one
    assert total == EMPTY


def test_point_one_added_ten_times_is_exactly_one() -> None:
    total = EMPTY
    for _ in range(10):
        total = total + Resources.parse("cpus:0.1")
    assert total == Resources.parse("cpus:1")
    assert total.to_json() == [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0}}]


@FEW
@given(resources())
def test_text_round_trip(r: Resources) -> None:
    assert Resources.parse(str(r)) == r


@FEW
@given(resources())
def test_json_round_trip(r: Resources) -> None:
    assert Resources.from_json(r.to_json()) == r
    assert Resources.from_json(json.loads(json.dumps(r.to_json()))) == r
    assert Resources.from_json(r.to_json(role="eng")) == r


@FEW
@given(resources())
def test_flat_output_is_json_with_the_standard_scalars(r: Resources) -> None:
    flat = json.loads(json.dumps(r.to_flat()))
    assert {"cpus", "mem", "disk", "gpus"} <= set(flat)
    for name, value in r.items():
        if isinstance(value, int):
            assert to_millis(flat[name]) == value
        else:
            assert isinstance(flat[name], str)


@FEW
@given(st.from_regex(r"[a-z]{1,6}:[a-z]{1,6}", fullmatch=True))
def test_words_are_not_scalars_and_the_error_names_them(text: str) -> None:
    with pytest.raises(ResourceError) as info:
        Resources.parse(text)
    assert text in str(info.value)
