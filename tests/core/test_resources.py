"""Resources: the agent flag syntax, Mesos JSON, the flat state shape and bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from roost.core.ranges import Ranges
from roost.core.resources import EMPTY, ResourceError, Resources, to_millis

# -- parsing and printing ---------------------------------------------------------------------

# (flag text, expected value by name, canonical printed form)
PARSE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("", {}, ""),
    ("  ;  ; ", {}, ""),
    ("cpus:4", {"cpus": 4000}, "cpus:4"),
    ("cpus:0.5", {"cpus": 500}, "cpus:0.5"),
    ("cpus:.25", {"cpus": 250}, "cpus:0.25"),
    ("cpus:1.050", {"cpus": 1050}, "cpus:1.05"),
    ("cpus:0.001", {"cpus": 1}, "cpus:0.001"),
    ("cpus:1e3", {"cpus": 1_000_000}, "cpus:1000"),
    ("cpus:+2", {"cpus": 2000}, "cpus:2"),
    ("cpus:0.0004", {}, ""),
    ("cpus:0.0005", {"cpus": 1}, "cpus:0.001"),
    ("cpus:-0", {}, ""),
    ("gpus:0", {}, ""),
    ("mem:4096;disk:10240", {"mem": 4_096_000, "disk": 10_240_000}, "mem:4096;disk:10240"),
    (" cpus : 2 ; mem : 64 ", {"cpus": 2000, "mem": 64_000}, "cpus:2;mem:64"),
    ("cpus:1;cpus:0.5", {"cpus": 1500}, "cpus:1.5"),
    ("cpus(*):2", {"cpus": 2000}, "cpus:2"),
    ("ports:[31000-32000]", {"ports": Ranges([(31000, 32000)])}, "ports:[31000-32000]"),
    ("ports:[1-2,3-4]", {"ports": Ranges([(1, 4)])}, "ports:[1-4]"),
    ("ports:[ 10-20 , 5-7 ]", {"ports": Ranges([(5, 7), (10, 20)])}, "ports:[5-7, 10-20]"),
    ("ports:[5-5]", {"ports": Ranges([(5, 5)])}, "ports:[5-5]"),
    ("ports:[]", {}, ""),
    ("ports:[1-2];ports:[2-9]", {"ports": Ranges([(1, 9)])}, "ports:[1-9]"),
    ("zones:{a,b}", {"zones": frozenset({"a", "b"})}, "zones:{a,b}"),
    ("zones:{ b , a ,}", {"zones": frozenset({"a", "b"})}, "zones:{a,b}"),
    ("zones:{a};zones:{c}", {"zones": frozenset({"a", "c"})}, "zones:{a,c}"),
    ("zones:{}", {}, ""),
    ("my.custom/thing-x:3", {"my.custom/thing-x": 3000}, "my.custom/thing-x:3"),
    (
        "cpus:4;mem:4096;ports:[31000-32000];gpus:0;zones:{a,b}",
        {
            "cpus": 4000,
            "mem": 4_096_000,
            "ports": Ranges([(31000, 32000)]),
            "zones": frozenset({"a", "b"}),
        },
        "cpus:4;mem:4096;ports:[31000-32000];zones:{a,b}",
    ),
]


@pytest.mark.parametrize(("text", "values", "printed"), PARSE_CASES)
def test_parse_reads_flag_syntax_and_prints_canonical_form(
    text: str, values: dict[str, Any], printed: str
) -> None:
    r = Resources.parse(text)
    assert dict(r.items()) == values
    assert str(r) == printed
    assert Resources.parse(printed) == r
    assert Resources.parse(str(r)) == r


def test_empty_string_is_empty_resources() -> None:
    r = Resources.parse("")
    assert r == EMPTY
    assert r.is_empty()
    assert not r
    assert str(r) == ""
    assert r.to_json() == []


def test_parse_accepts_a_json_list_like_the_mesos_resources_flag() -> None:
    text = json.dumps(Resources.parse("cpus:2;ports:[1-3]").to_json())
    assert Resources.parse(text) == Resources.parse("cpus:2;ports:[1-3]")


def test_scalars_keep_three_decimals_without_float_drift() -> None:
    total = EMPTY
    for _ in range(10):
        total = total + Resources.scalars(cpus=0.1)
    assert total == Resources.scalars(cpus=1)
    assert total.scalar("cpus") == 1.0
    assert Resources.scalars(cpus=0.1) + Resources.scalars(cpus=0.2) == Resources.scalars(cpus=0.3)


@pytest.mark.parametrize(
    ("value", "millis"),
    [
        (0.1, 100),
        (1.0005, 1001),  # half up from the decimal written, not from the binary float
        (2.675, 2675),
        ("0.0015", 2),
        (7, 7000),
        (10**12, 10**15),
        ("999999999999.999", 999_999_999_999_999),
    ],
)
def test_to_millis_rounds_half_up_from_the_decimal_value(value: float | str, millis: int) -> None:
    assert to_millis(value) == millis


def test_accessors() -> None:
    r = Resources.parse("cpus:1.5;ports:[1-3];zones:{a}")
    assert r.millis("cpus") == 1500
    assert r.scalar("cpus") == 1.5
    assert r.scalar("mem") == 0.0
    assert r.millis("ports") == 0
    assert r.ranges() == Ranges([(1, 3)])
    assert r.ranges("cpus") == Ranges()
    assert r.get("zones") == frozenset({"a"})
    assert r.names() == ["cpus", "ports", "zones"]
    assert list(r.scalar_items()) == [("cpus", 1500)]
    assert r.only(["cpus", "nope"]) == Resources.scalars(cpus=1.5)


# -- JSON ---------------------------------------------------------------------------------------

MESOS_JSON = [
    {"name": "cpus", "type": "SCALAR", "scalar": {"value": 4}},
    {"name": "mem", "type": "SCALAR", "scalar": {"value": 1024.5}},
    {"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 31000, "end": 32000}]}},
    {"name": "x", "type": "SET", "set": {"item": ["a"]}},
]


def test_from_json_reads_the_mesos_resource_list() -> None:
    r = Resources.from_json(MESOS_JSON)
    assert r == Resources.parse("cpus:4;mem:1024.5;ports:[31000-32000];x:{a}")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "cpus:4;mem:4096;ports:[31000-32000];zones:{a,b}",
        "cpus:0.001;mem:999999999999.999",
        "ports:[0-0, 2-5, 65535-65535];gpus:1",
        "x:{a,b,c};y:0.333",
    ],
)
def test_json_round_trip(text: str) -> None:
    r = Resources.parse(text)
    doc = r.to_json()
    assert Resources.from_json(doc) == r
    assert Resources.from_json(json.loads(json.dumps(doc))) == r


def test_to_json_shape() -> None:
    assert Resources.parse("cpus:0.5;ports:[1-2, 4-4];z:{b,a}").to_json() == [
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}},
        {
            "name": "ports",
            "type": "RANGES",
            "ranges": {"range": [{"begin": 1, "end": 2}, {"begin": 4, "end": 4}]},
        },
        {"name": "z", "type": "SET", "set": {"item": ["a", "b"]}},
    ]


def test_to_json_with_role_carries_allocation_info_and_reads_back() -> None:
    r = Resources.parse("cpus:1")
    doc = r.to_json(role="eng")
    assert doc == [
        {
            "name": "cpus",
            "type": "SCALAR",
            "scalar": {"value": 1.0},
            "role": "*",
            "allocation_info": {"role": "eng"},
        }
    ]
    assert Resources.from_json(doc) == r


def test_from_json_ignores_unknown_fields_and_adds_repeated_names() -> None:
    doc = [
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}, "revocable_x": 1},
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}},
        {"name": "ports", "type": "RANGES", "ranges": {}},
    ]
    assert Resources.from_json(doc) == Resources.scalars(cpus=1.5)


# -- flat /master/state shape -----------------------------------------------------------------

FLAT_CASES: list[tuple[str, dict[str, Any]]] = [
    ("", {"cpus": 0.0, "disk": 0.0, "gpus": 0.0, "mem": 0.0}),
    (
        "cpus:4;mem:15360;disk:1000;ports:[31000-32000]",
        {"cpus": 4.0, "disk": 1000.0, "gpus": 0.0, "mem": 15360.0, "ports": "[31000-32000]"},
    ),
    (
        "cpus:0.1;ports:[1-2,5-6];zones:{b,a}",
        {
            "cpus": 0.1,
            "disk": 0.0,
            "gpus": 0.0,
            "mem": 0.0,
            "ports": "[1-2, 5-6]",
            "zones": "{a, b}",
        },
    ),
]


@pytest.mark.parametrize(("text", "flat"), FLAT_CASES)
def test_to_flat_matches_master_state_shape(text: str, flat: dict[str, Any]) -> None:
    out = Resources.parse(text).to_flat()
    assert out == flat
    assert json.loads(json.dumps(out)) == flat


# -- algebra ------------------------------------------------------------------------------------


def test_add_subtract_contains() -> None:
    agent = Resources.parse("cpus:4;mem:4096;ports:[31000-32000];zones:{a,b}")
    task = Resources.parse("cpus:0.5;mem:128;ports:[31000-31001];zones:{a}")
    left = agent - task
    assert left == Resources.parse("cpus:3.5;mem:3968;ports:[31002-32000];zones:{b}")
    assert left + task == agent
    assert agent.contains(task)
    assert agent >= task
    assert not left.contains(task)


def test_subtract_floors_scalars_at_zero_and_drops_empty_names() -> None:
    r = Resources.parse("cpus:1;ports:[1-2];zones:{a}") - Resources.parse(
        "cpus:5;ports:[0-9];zones:{a,b};mem:3"
    )
    assert r == EMPTY
    assert list(r.items()) == []


def test_subtract_ignores_names_of_another_type() -> None:
    assert Resources.parse("x:1") - Resources.parse("x:[1-2]") == Resources.parse("x:1")


def test_add_rejects_one_name_with_two_types() -> None:
    with pytest.raises(ResourceError, match="'x'"):
        Resources.parse("x:1") + Resources.parse("x:[1-2]")


def test_contains_needs_every_name_with_the_same_type() -> None:
    have = Resources.parse("cpus:1;ports:[1-5];zones:{a}")
    assert have.contains(EMPTY)
    assert not have.contains(Resources.parse("mem:1"))
    assert not have.contains(Resources.parse("cpus:1.001"))
    assert not have.contains(Resources.parse("ports:[5-6]"))
    assert not have.contains(Resources.parse("zones:{b}"))
    assert not have.contains(Resources.parse("cpus:[1-1]"))
    assert not have.contains(Resources.parse("ports:1"))
    assert not have.contains(Resources.parse("zones:1"))


def test_pick_ports_takes_the_lowest() -> None:
    r = Resources.parse("ports:[31000-31001, 31005-31010]")
    assert r.pick_ports(3) == Ranges([(31000, 31001), (31005, 31005)])
    assert r.pick_ports(0) == Ranges()
    assert r.pick_ports(8) == r.ranges()
    with pytest.raises(ResourceError, match="need 9 ports but only 8"):
        r.pick_ports(9)
    with pytest.raises(ResourceError, match="negative"):
        r.pick_ports(-1)
    with pytest.raises(ResourceError, match="need 1 ports"):
        EMPTY.pick_ports(1)


def test_equal_resources_hash_equal() -> None:
    a = Resources.parse("cpus:1;ports:[1-2];z:{a}")
    b = Resources.parse("z:{a};ports:[1-1,2-2];cpus:1")
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1


# -- bad input: strings --------------------------------------------------------------------------

# (text, a fragment the message must contain: the offending token, plus a reason)
BAD_STRINGS: list[tuple[str, list[str]]] = [
    ("cpus:four", ["cpus:four", "not a number"]),
    ("cpus4", ["cpus4", "name:value"]),
    ("mem:1;cpus", ["'cpus'", "name:value"]),
    ("cpus:", ["cpus:", "name:value"]),
    (":4", [":4", "name:value"]),
    ("ports:[5-1]", ["ports:[5-1]", "5-1", "ends before it begins"]),
    ("ports:[a-b]", ["ports:[a-b]", "bad range 'a-b'"]),
    ("ports:[1-2,x]", ["ports:[1-2,x]", "bad range 'x'"]),
    ("ports:[-1-5]", ["ports:[-1-5]", "bad range"]),
    ("ports:[1-99999999999999999999]", ["ports:[1-99999999999999999999]", "larger"]),
    ("ports:[\u0661-\u0662]", ["ports:[\u0661-\u0662]", "bad range"]),  # non-ASCII digits
    ("cpus:-1", ["cpus:-1", "negative"]),
    ("mem:-0.5", ["mem:-0.5", "negative"]),
    ("cpus:nan", ["cpus:nan", "finite"]),
    ("cpus:NaN", ["cpus:NaN", "finite"]),
    ("cpus:inf", ["cpus:inf", "finite"]),
    ("cpus:-Infinity", ["cpus:-Infinity", "finite"]),
    ("cpus:1_000", ["cpus:1_000", "not a number"]),
    ("cpus:0x10", ["cpus:0x10", "not a number"]),
    ("cpus:1e13", ["cpus:1e13", "too large"]),
    ("ports:[1-2", ["ports:[1-2", "ranges must look like"]),
    ("ports:[1-2;cpus:1", ["ports:[1-2", "ranges must look like"]),
    ("zones:{a,b", ["zones:{a,b", "sets must look like"]),
    ("zones:{a}}", ["zones:{a}}", "bad set item"]),
    ("zones:{a,{b}", ["zones:{a,{b}", "bad set item"]),
    ("x:1;x:[1-2]", ["x:[1-2]", "ranges", "scalar"]),
    ("x:{a};x:2", ["x:2", "a scalar", "a set"]),
    ("cpus(eng):1", ["cpus(eng):1", "reserved"]),
    ("cpus(eng, principal):1", ["cpus(eng, principal):1", "reserved"]),
    ("cpus):1", ["cpus):1", "reserved"]),
    ("9cpus:1", ["9cpus:1", "invalid name"]),
    ("cp us:1", ["cp us:1", "invalid name"]),
    ("[not json", ["JSON"]),
    ('[{"name": "cpus"}]', ["resources[0] (cpus)", "type"]),
]


@pytest.mark.parametrize(("text", "fragments"), BAD_STRINGS)
def test_bad_strings_raise_resource_error_naming_the_token(text: str, fragments: list[str]) -> None:
    with pytest.raises(ResourceError) as info:
        Resources.parse(text)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_resource_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        Resources.parse("cpus:four")


def test_overlong_string_is_rejected() -> None:
    with pytest.raises(ResourceError, match="64 KiB"):
        Resources.parse("cpus:1;" * 10_000)


def test_non_string_is_rejected() -> None:
    with pytest.raises(ResourceError, match="string"):
        Resources.parse(4)  # type: ignore[arg-type]


# -- bad input: JSON -----------------------------------------------------------------------------


def scalar(value: Any, name: str = "cpus") -> dict[str, Any]:
    return {"name": name, "type": "SCALAR", "scalar": {"value": value}}


def ranges(*pairs: Any) -> dict[str, Any]:
    return {
        "name": "ports",
        "type": "RANGES",
        "ranges": {"range": [{"begin": b, "end": e} for b, e in pairs]},
    }


BAD_JSON: list[tuple[Any, list[str]]] = [
    ({"name": "cpus"}, ["list", "dict"]),
    ("cpus:1", ["list", "str"]),
    (None, ["list"]),
    ([1], ["resources[0]", "object"]),
    ([{"type": "SCALAR", "scalar": {"value": 1}}], ["resources[0]", "name"]),
    ([{"name": "", "type": "SCALAR", "scalar": {"value": 1}}], ["resources[0]", "name"]),
    ([{"name": 3, "type": "SCALAR", "scalar": {"value": 1}}], ["resources[0]", "name"]),
    ([{"name": "cpus", "type": "TEXT", "text": {"value": "a"}}], ["(cpus)", "unknown type 'TEXT'"]),
    ([{"name": "cpus", "scalar": {"value": 1}}], ["(cpus)", "missing 'type'"]),
    ([scalar(1), scalar("4")], ["resources[1] (cpus)", "'4'", "number"]),
    ([scalar(True)], ["resources[0] (cpus)", "True", "number"]),
    ([scalar(None)], ["resources[0] (cpus)", "number"]),
    ([scalar(-1)], ["resources[0] (cpus)", "negative"]),
    ([scalar(float("nan"))], ["resources[0] (cpus)", "finite"]),
    ([scalar(float("inf"))], ["resources[0] (cpus)", "finite"]),
    ([scalar(1e13)], ["resources[0] (cpus)", "too large"]),
    ([{"name": "cpus", "type": "SCALAR"}], ["(cpus)", "scalar"]),
    ([{"name": "cpus", "type": "SCALAR", "scalar": 4}], ["(cpus)", "scalar"]),
    ([ranges((-1, 5))], ["resources[0] (ports)", "non-negative"]),
    ([ranges((1, -5))], ["resources[0] (ports)", "non-negative"]),
    ([ranges((5, 1))], ["resources[0] (ports)", "5", "1"]),
    ([ranges(("1", 5))], ["resources[0] (ports)", "non-negative integers"]),
    ([ranges((1.0, 5))], ["resources[0] (ports)", "non-negative integers"]),
    ([ranges((True, 5))], ["resources[0] (ports)", "non-negative integers"]),
    ([ranges((0, 2**64))], ["resources[0] (ports)", "outside"]),
    ([{"name": "ports", "type": "RANGES", "ranges": [1, 2]}], ["(ports)", "RANGES needs"]),
    ([{"name": "ports", "type": "RANGES", "ranges": {"range": [7]}}], ["(ports)", "7"]),
    ([{"name": "x", "type": "SET", "set": {"item": "ab"}}], ["(x)", "SET needs"]),
    ([{"name": "x", "type": "SET", "set": {"item": [1]}}], ["(x)", "SET needs"]),
    ([{"name": "x", "type": "SET"}], ["(x)", "SET needs"]),
    ([scalar(1), ranges((1, 2)) | {"name": "cpus"}], ["resources[1] (cpus)", "ranges"]),
    ([scalar(1) | {"role": "eng"}], ["(cpus)", "reserved"]),
    ([scalar(1) | {"reservations": [{"type": "STATIC", "role": "eng"}]}], ["reserved"]),
]


@pytest.mark.parametrize(("doc", "fragments"), BAD_JSON)
def test_bad_json_raises_resource_error_saying_where(doc: Any, fragments: list[str]) -> None:
    with pytest.raises(ResourceError) as info:
        Resources.from_json(doc)
    for fragment in fragments:
        assert fragment in str(info.value)


# -- construction from values -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"cpus": 0.5}, "thousandths"),
        ({"cpus": True}, "thousandths"),
        ({"cpus": -1}, "negative"),
        ({"x": {1, 2}}, "strings"),
        ({"bad name": 1}, "name"),
    ],
)
def test_constructor_rejects_values_of_the_wrong_type(values: Any, fragment: str) -> None:
    with pytest.raises(ResourceError, match=fragment):
        Resources(values)


def test_constructor_drops_empty_values_and_freezes_sets() -> None:
    r = Resources({"cpus": 0, "ports": Ranges(), "z": set(), "y": {"a"}})
    assert list(r.items()) == [("y", frozenset({"a"}))]
    assert r == Resources.parse("y:{a}")


@pytest.mark.parametrize("bad", [True, None, "x", float("nan"), -0.001, [1]])
def test_to_millis_rejects_non_numbers_and_names_the_resource(bad: Any) -> None:
    with pytest.raises(ResourceError, match="'mem'"):
        to_millis(bad, "mem")
