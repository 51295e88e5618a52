"""The placement pipeline: reading offers, fitting instances one by one, naming rejections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roost.core.resources import Resources
from roost.marathon.placement import (
    REASONS,
    Attempt,
    Peer,
    Pipeline,
    format_scalar,
    offer_view,
    place,
)
from roost.marathon.placement.pipeline import DEFAULT_PIPELINE
from tests.marathon.placement import app, attribute, offer, resource, scalar_total

# -- reading an offer -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attr", "text"),
    [
        (attribute("a", "rack-1"), "rack-1"),
        (attribute("a", 3), "3"),
        (attribute("a", 3.0), "3"),
        (attribute("a", 2.5), "2.5"),
        (attribute("a", 1 / 3), "0.333"),
        (attribute("a", 1000), "1000"),
        (attribute("a", [(4, 5), (1, 2)]), "[1-2,4-5]"),
        (attribute("a", {"b", "a", "c"}), "{a,b,c}"),
    ],
)
def test_attributes_are_formatted_as_marathon_compares_them(
    attr: dict[str, Any], text: str
) -> None:
    raw = offer()
    raw["attributes"] = [attr]
    assert offer_view(raw).attributes == {"a": text}


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "a", "type": "TEXT"},
        {"name": "a", "type": "SCALAR", "scalar": {"value": "3"}},
        {"name": "a", "type": "RANGES", "ranges": {"range": [{"begin": "1", "end": 2}]}},
        {"name": "a", "type": "SET", "set": {"item": [1]}},
        {"name": "a", "type": "COLOUR", "text": {"value": "red"}},
        {"type": "TEXT", "text": {"value": "red"}},
        "rack=r1",
    ],
)
def test_malformed_attributes_are_left_out(bad: Any) -> None:
    raw = offer(attributes={"rack": "r1"})
    raw["attributes"].append(bad)
    assert offer_view(raw).attributes == {"rack": "r1"}


def test_offer_view_reads_ids_host_domain_role_and_resources() -> None:
    raw = offer("h7", cpus=2, mem=512, disk=0, ports=[(31000, 31009)], region="eu", zone="eu-1a")
    view = offer_view(raw)
    assert (view.offer_id, view.agent_id, view.hostname) == ("offer-h7", "agent-h7", "h7")
    assert (view.region, view.zone, view.allocation_role) == ("eu", "eu-1a", "*")
    assert view.available == Resources.parse("cpus:2;mem:512;ports:[31000-31009]")
    assert [(e.name, e.role) for e in view.resources] == [
        ("cpus", "*"),
        ("mem", "*"),
        ("ports", "*"),
    ]
    assert view.as_peer() == Peer("h7", {}, "eu", "eu-1a")


def test_offer_view_skips_malformed_resources_and_persistent_volumes() -> None:
    volume = resource("disk", 500)
    volume["disk"] = {"persistence": {"id": "v1"}, "volume": {"container_path": "data"}}
    extra: list[Any] = [
        {"name": "cpus", "type": "WEIRD"},
        {"name": "mem", "type": "RANGES", "ranges": {"range": [{"begin": 1, "end": 2}]}},
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": -1}},
        volume,
        "cpus:4",
    ]
    view = offer_view(offer(cpus=1, mem=64, disk=0, ports=[], extra=extra))
    assert view.available == Resources.parse("cpus:1;mem:64")


def test_reserved_resources_carry_the_reservation_role() -> None:
    raw = offer(allocation="web", extra=[resource("cpus", 2, reserved_for="web")])
    roles = {(e.name, e.role) for e in offer_view(raw).resources}
    assert ("cpus", "web") in roles and ("cpus", "*") in roles


def test_format_scalar_keeps_three_decimals() -> None:
    assert [format_scalar(v) for v in (0.0, 10.0, 0.1, 1.0005, 12.25)] == [
        "0",
        "10",
        "0.1",
        "1",  # 1.0005 is 1.000499... as a double
        "12.25",
    ]


# -- placing ----------------------------------------------------------------------------------


def test_places_as_many_instances_as_the_offer_resources_allow() -> None:
    result = place(offer(cpus=4), app(cpus=1, mem=128), [], 10)
    assert len(result.placements) == 4
    assert result.reason == "InsufficientCpus"


def test_reason_is_none_when_every_wanted_instance_fits() -> None:
    result = place(offer(cpus=4), app(cpus=1), [], 3)
    assert len(result.placements) == 3
    assert result.reason is None


@pytest.mark.parametrize("wanted", [0, -1])
def test_wanting_nothing_places_nothing_and_gives_no_reason(wanted: int) -> None:
    assert place(offer(), app(), [], wanted).placements == []
    assert place(offer(), app(), [], wanted).reason is None


# (offer overrides, app body, reason for the first instance)
REJECTIONS: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    ({"cpus": 0.5}, {"cpus": 1}, "InsufficientCpus"),
    ({"mem": 64}, {"mem": 128}, "InsufficientMemory"),
    ({"disk": 10}, {"disk": 100}, "InsufficientDisk"),
    ({"disk": 0}, {"disk": 1}, "InsufficientDisk"),
    ({}, {"gpus": 1}, "InsufficientGpus"),
    ({"ports": []}, {"portDefinitions": [{"port": 0}]}, "InsufficientPorts"),
    (
        {"attributes": {"rack": "r2"}},
        {"constraints": [["rack", "IS", "r1"]]},
        "UnfulfilledConstraint",
    ),
    ({}, {"acceptedResourceRoles": ["slave_public"]}, "UnfulfilledRole"),
    ({"allocation": "web"}, {"role": "batch"}, "UnfulfilledRole"),
    # the first failing checker names the reason: cpus before mem before ports before constraints
    ({"cpus": 0.5, "mem": 1}, {"cpus": 1}, "InsufficientCpus"),
    ({"mem": 1, "ports": []}, {}, "InsufficientMemory"),
    (
        {"ports": [], "attributes": {"rack": "r2"}},
        {"constraints": [["rack", "IS", "r1"]]},
        "InsufficientPorts",
    ),
    ({"cpus": 0.5}, {"acceptedResourceRoles": ["slave_public"]}, "UnfulfilledRole"),
]


@pytest.mark.parametrize(("overrides", "body", "reason"), REJECTIONS)
def test_each_rejection_is_named_by_the_first_failing_checker(
    overrides: dict[str, Any], body: dict[str, Any], reason: str
) -> None:
    result = place(offer(**overrides), app(**body), [], 1)
    assert result.placements == []
    assert result.reason == reason
    assert reason in REASONS


def test_task_resources_come_from_the_offer_with_role_and_allocation() -> None:
    result = place(offer(allocation="web"), app(cpus=0.5, mem=64, disk=0), [], 1)
    (placed,) = result.placements
    by_name = {r["name"]: r for r in placed.resources}
    assert set(by_name) == {"cpus", "mem", "ports"}  # no disk: the app asks for none
    assert by_name["cpus"] == {
        "name": "cpus",
        "type": "SCALAR",
        "scalar": {"value": 0.5},
        "role": "*",
        "allocation_info": {"role": "web"},
    }
    assert by_name["ports"]["ranges"] == {"range": [{"begin": 31000, "end": 31000}]}


def test_disk_and_gpus_are_included_when_asked_for() -> None:
    result = place(offer(gpus=2), app(disk=100, gpus=1), [], 1)
    names = [r["name"] for r in result.placements[0].resources]
    assert names == ["cpus", "mem", "disk", "gpus", "ports"]


def test_a_request_larger_than_any_agent_is_insufficient_not_an_error() -> None:
    huge = app().model_copy(update={"mem": 1e300})
    assert place(offer(), huge, [], 1).reason == "InsufficientMemory"


def test_an_app_without_gpus_may_use_a_gpu_agent() -> None:
    assert place(offer(gpus=4), app(gpus=0), [], 1).reason is None


def test_resources_reserved_for_another_role_are_ignored() -> None:
    other = [resource(n, 8, reserved_for="other") for n in ("cpus", "mem")]
    raw = offer(cpus=1, mem=4096, extra=other)
    result = place(raw, app(cpus=1, mem=128), [], 5)
    assert len(result.placements) == 1
    assert result.reason == "InsufficientCpus"
    assert all(r["role"] == "*" for r in result.placements[0].resources)


def test_an_offer_holding_only_other_roles_is_unfulfilled_role() -> None:
    raw = offer(cpus=0, mem=0, disk=0, ports=[])
    raw["resources"] = [resource("cpus", 8, reserved_for="other", allocation="other")]
    assert place(raw, app(portDefinitions=[]), [], 1).reason == "UnfulfilledRole"


def test_resources_reserved_for_the_offers_role_are_used_by_default() -> None:
    reserved = resource("cpus", 1, reserved_for="web", allocation="web")
    raw = offer(cpus=1, allocation="web", extra=[reserved])
    result = place(raw, app(cpus=1.5), [], 1)
    cpus = [r for r in result.placements[0].resources if r["name"] == "cpus"]
    assert [(r["role"], r["scalar"]["value"]) for r in cpus] == [("*", 1.0), ("web", 0.5)]


def test_accepted_resource_roles_limit_which_entries_are_used() -> None:
    reserved = resource("cpus", 4, reserved_for="web", allocation="web")
    raw = offer(cpus=1, allocation="web", extra=[reserved])
    only_unreserved = place(raw, app(cpus=1, acceptedResourceRoles=["*"]), [], 5)
    assert len(only_unreserved.placements) == 1
    # mem is unreserved, so an app accepting only "web" must ask for none
    only_web = place(
        raw, app(cpus=1, mem=0, acceptedResourceRoles=["web"], portDefinitions=[]), [], 5
    )
    assert len(only_web.placements) == 4
    assert {r["role"] for p in only_web.placements for r in p.resources} == {"web"}


def test_app_role_matching_the_offers_allocation_is_placed() -> None:
    assert place(offer(allocation="web"), app(role="web"), [], 1).reason is None


# -- the pipeline as data ---------------------------------------------------------------------


def test_pipeline_describes_its_checkers_in_order() -> None:
    names = [step["name"] for step in DEFAULT_PIPELINE.describe()]
    assert names == ["role", "cpus", "mem", "disk", "gpus", "ports", "constraints"]
    assert all(step["why"] for step in DEFAULT_PIPELINE.describe())


@dataclass(frozen=True)
class Refuse:
    name: str = "maintenance"
    why: str = "test"

    def __call__(self, attempt: Attempt) -> str | None:
        return "AgentMaintenance" if attempt.offer.hostname == "h1" else None


def test_pipeline_is_edited_by_name() -> None:
    spec = app(constraints=[["hostname", "UNIQUE"]])
    unconstrained = DEFAULT_PIPELINE.remove("constraints")
    assert len(unconstrained.place(offer_view(offer()), spec, [], 3).placements) == 3
    guarded = DEFAULT_PIPELINE.insert_before("cpus", Refuse())
    assert guarded.place(offer_view(offer("h1")), spec, [], 1).reason == "AgentMaintenance"
    assert guarded.place(offer_view(offer("h2")), spec, [], 1).reason is None
    swapped = DEFAULT_PIPELINE.replace("ports", Refuse())
    assert [c.name for c in swapped.checkers][5] == "maintenance"
    assert place(offer("h1"), spec, [], 1, pipeline=swapped).reason == "AgentMaintenance"
    with pytest.raises(KeyError, match="no checker named 'nope'"):
        Pipeline().remove("nope")


# -- properties -------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    have=st.tuples(st.integers(0, 8000), st.integers(0, 9000), st.integers(0, 5000)),
    need=st.tuples(st.integers(1, 3000), st.integers(0, 3000), st.integers(0, 2000)),
    wanted=st.integers(0, 12),
)
def test_placing_never_exceeds_the_offer_and_fits_as_many_as_possible(
    have: tuple[int, int, int], need: tuple[int, int, int], wanted: int
) -> None:
    # thousandths, so that the expected count is exact
    (cpus, mem, disk), (cpus_n, mem_n, disk_n) = have, need
    raw = offer(cpus=cpus / 1000, mem=mem / 1000, disk=disk / 1000, ports=[])
    spec = app(cpus=cpus_n / 1000, mem=mem_n / 1000, disk=disk_n / 1000, portDefinitions=[])
    result = place(raw, spec, [], wanted)
    used = [r for p in result.placements for r in p.resources]
    assert scalar_total(used, "cpus") <= cpus / 1000 + 1e-9
    assert scalar_total(used, "mem") <= mem / 1000 + 1e-9
    assert scalar_total(used, "disk") <= disk / 1000 + 1e-9
    fits = min(
        cpus // cpus_n,
        mem // mem_n if mem_n else wanted,
        disk // disk_n if disk_n else wanted,
    )
    assert len(result.placements) == min(wanted, fits)
    assert (result.reason is None) == (len(result.placements) == max(0, wanted))
