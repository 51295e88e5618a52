"""Allocator: Mesos ``hierarchical.cpp`` allocation semantics, driven by a ManualClock."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from roost.cluster.master.allocator import (
    GPU_RESOURCES,
    Allocation,
    Allocator,
    DuplicateError,
    UnknownAgentError,
    UnknownFrameworkError,
)
from roost.core.clock import ManualClock
from roost.core.resources import Resources

R = Resources.parse
AGENT = "cpus:8;mem:32768;disk:100000;ports:[31000-32000]"


def make(**kwargs: object) -> tuple[Allocator, ManualClock]:
    clock = ManualClock()
    return Allocator(clock, random=random.Random(7), **kwargs), clock  # type: ignore[arg-type]


def owners(allocations: list[Allocation]) -> dict[str, str]:
    return {a.agent_id: a.framework_id for a in allocations}


def decline(alloc: Allocator, a: Allocation, refuse_seconds: float | None) -> None:
    alloc.recover(a.framework_id, a.agent_id, a.resources, refuse_seconds)


# -- offers -----------------------------------------------------------------------------------
def test_the_whole_remaining_agent_is_offered_to_one_framework() -> None:
    alloc, _ = make()
    alloc.add_framework("f1")
    alloc.add_framework("f2")
    alloc.add_agent("a1", R(AGENT), used={"f2": R("cpus:2;mem:1024;ports:[31000-31009]")})
    [offer] = alloc.allocate()
    assert offer == Allocation(
        "f1", "a1", "*", R("cpus:6;mem:31744;disk:100000;ports:[31010-32000]")
    )
    assert alloc.available("a1") == R("")
    assert alloc.allocate() == []


def test_a_framework_in_a_role_with_lower_share_gets_the_agent_first() -> None:
    alloc, _ = make()
    alloc.add_framework("busy", role="analytics")
    alloc.add_framework("idle", role="web")
    alloc.add_agent("a1", R("cpus:8;mem:8192"), used={"busy": R("cpus:4;mem:1024")})
    assert alloc.role_order() == ["web", "analytics"]
    assert owners(alloc.allocate()) == {"a1": "idle"}


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ({"a": 1.0, "b": 1.0}, {"fa": 15, "fb": 15}),
        ({"a": 2.0, "b": 1.0}, {"fa": 20, "fb": 10}),  # a weight-2 role gets twice the share
        ({"a": 1.0, "b": 4.0}, {"fa": 6, "fb": 24}),
    ],
)
def test_role_weights_scale_the_number_of_equal_agents(
    weights: dict[str, float], expected: dict[str, int]
) -> None:
    alloc, _ = make()
    for role, w in weights.items():
        alloc.set_weight(role, w)
        alloc.add_framework(f"f{role}", role=role)
    for i in range(30):
        alloc.add_agent(f"a{i}", R("cpus:4;mem:4096"))
    assert Counter(a.framework_id for a in alloc.allocate()) == expected


def test_equal_frameworks_end_up_with_equal_numbers_of_equal_agents() -> None:
    alloc, _ = make()
    alloc.add_framework("f1", role="r1")
    alloc.add_framework("f2", role="r2")
    alloc.add_framework("f3", role="r2")  # frameworks of one role share it by DRF too
    for i in range(120):
        alloc.add_agent(f"a{i}", R(AGENT))
    counts = Counter(a.framework_id for a in alloc.allocate())
    assert counts == {"f1": 60, "f2": 30, "f3": 30}


def test_ties_go_to_the_role_chosen_fewer_times_then_by_name() -> None:
    alloc, _ = make()
    alloc.add_framework("fb", role="b")
    alloc.add_framework("fa", role="a")
    assert alloc.role_order() == ["a", "b"]
    alloc.add_agent("a1", R("cpus:1;mem:64"))
    alloc.allocate()
    assert alloc.role_order() == ["b", "a"]


@pytest.mark.parametrize(
    ("available", "offered"),
    [
        ("cpus:0.005;mem:16", False),
        ("cpus:0.01", True),
        ("mem:32", True),
        ("mem:31;disk:1000;ports:[1-100]", False),
        ("cpus:0.009;mem:31.999", False),
        ("cpus:4;mem:4096", True),
    ],
)
def test_only_allocatable_leftovers_are_offered(available: str, offered: bool) -> None:
    alloc, _ = make()
    alloc.add_framework("f1")
    alloc.add_agent("a1", R(available))
    assert bool(alloc.allocate()) is offered
    assert alloc.snapshot().offerable_agents == 0


@pytest.mark.parametrize(
    ("minimum", "available", "offered"),
    [
        ([], "disk:1", True),  # an empty list: anything non-empty is allocatable
        ([R("disk:1000")], "disk:1000", True),
        ([R("disk:1000")], "cpus:8;mem:8192", False),
        ([R("ports:[1-5]")], "ports:[100-104]", True),  # ranges compare by count
        ([R("ports:[1-5]")], "ports:[100-103]", False),
    ],
)
def test_a_framework_can_override_the_minimum_offer_size(
    minimum: list[Resources], available: str, offered: bool
) -> None:
    alloc, _ = make()
    alloc.add_framework("f1", min_allocatable=minimum)
    alloc.add_agent("a1", R(available))
    assert bool(alloc.allocate()) is offered


def test_removing_the_last_framework_with_a_lower_minimum_reindexes_agents() -> None:
    alloc, _ = make()
    alloc.add_framework("small", min_allocatable=[])
    alloc.add_agent("a1", R("disk:10"))
    alloc.suppress("small")
    alloc.allocate()
    assert alloc.snapshot().offerable_agents == 1
    alloc.remove_framework("small")
    alloc.allocate()
    assert alloc.snapshot().offerable_agents == 0


# -- agents and recovery ----------------------------------------------------------------------
def test_a_deactivated_agent_is_not_offered_until_reactivated() -> None:
    alloc, _ = make()
    alloc.add_framework("f1")
    alloc.add_agent("a1", R(AGENT))
    alloc.deactivate_agent("a1")
    assert alloc.allocate() == []
    alloc.activate_agent("a1")
    assert owners(alloc.allocate()) == {"a1": "f1"}


def test_removing_an_agent_drops_its_allocations_filters_and_total() -> None:
    alloc, _ = make()
    alloc.add_framework("f1")
    alloc.add_framework("f2")
    alloc.add_agent("a1", R("cpus:4;mem:4096"))
    alloc.add_agent("a2", R("cpus:4;mem:4096"))
    for offer in alloc.allocate():
        decline(alloc, offer, 60.0)
    alloc.remove_agent("a1")
    snap = alloc.snapshot()
    assert snap.total == R("cpus:4;mem:4096")
    assert all(f.agent_id == "a2" for f in alloc.filters())
    alloc.recover("f1", "a1", R("cpus:4"))  # late recovery for a gone agent: ignored
    with pytest.raises(UnknownAgentError):
        alloc.available("a1")


def test_recover_returns_resources_to_the_agent_without_asking_for_a_run() -> None:
    alloc, _ = make()
    alloc.add_framework("f1")
    alloc.add_agent("a1", R("cpus:4;mem:4096;ports:[1-10]"))
    alloc.allocate()
    alloc.recover("f1", "a1", R("cpus:1;mem:1024;ports:[1-5]"))
    assert alloc.available("a1") == R("cpus:1;mem:1024;ports:[1-5]")
    assert alloc.allocation("f1", "a1") == R("cpus:3;mem:3072;ports:[6-10]")
    assert not alloc.needs_run()
    # Recovering more than is held gives back only what is held.
    alloc.recover("f1", "a1", R("cpus:100;mem:3072;ports:[1-10]"))
    assert alloc.available("a1") == R("cpus:4;mem:4096;ports:[1-10]")
    assert alloc.allocation("f1", "a1") == R("")


def test_update_agent_changes_what_is_available_and_asks_for_a_run() -> None:
    alloc, _ = make()
    alloc.add_framework("f1")
    alloc.add_agent("a1", R("cpus:4;mem:4096"))
    alloc.allocate()
    alloc.update_agent("a1", R("cpus:8;mem:4096"))
    assert alloc.needs_run()
    assert alloc.allocate() == [Allocation("f1", "a1", "*", R("cpus:4"))]
    assert alloc.snapshot().total == R("cpus:8;mem:4096")


@pytest.mark.parametrize(
    ("capabilities", "filter_gpus", "offered"),
    [
        ((), True, False),  # --filter_gpu_resources (default): no GPU agents for them
        ((GPU_RESOURCES,), True, True),
        ((), False, True),
    ],
)
def test_gpu_agents_go_only_to_gpu_capable_frameworks(
    capabilities: tuple[str, ...], filter_gpus: bool, offered: bool
) -> None:
    alloc, _ = make(filter_gpu_resources=filter_gpus)
    alloc.add_framework("f1", capabilities=capabilities)
    alloc.add_agent("gpu", R("cpus:8;mem:8192;gpus:2"))
    alloc.add_agent("plain", R("cpus:8;mem:8192"))
    assert set(owners(alloc.allocate())) == ({"gpu", "plain"} if offered else {"plain"})


def test_resources_in_use_by_an_unknown_framework_count_once_it_subscribes() -> None:
    alloc, _ = make()
    alloc.add_agent("a1", R("cpus:8;mem:8192"), used={"old": R("cpus:6;mem:6144")})
    alloc.add_agent("a2", R("cpus:8;mem:8192"))
    assert alloc.snapshot().offered_or_allocated == R("cpus:6;mem:6144")
    alloc.add_framework("new", role="r2")
    alloc.add_framework("old", role="r1")
    assert alloc.snapshot().allocated_by_role["r1"] == R("cpus:6;mem:6144")
    assert alloc.role_order() == ["r2", "r1"]


def test_removing_a_framework_frees_what_it_held() -> None:
    alloc, _ = make()
    alloc.add_framework("f1")
    alloc.add_agent("a1", R(AGENT))
    alloc.allocate()
    alloc.remove_framework("f1")
    assert alloc.available("a1") == R(AGENT)
    assert alloc.snapshot().offered_or_allocated == R("")
    alloc.add_framework("f2")
    assert owners(alloc.allocate()) == {"a1": "f2"}


# -- runs, errors, snapshot -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("event", "requests_run"),
    [
        (lambda a: a.add_agent("a2", R(AGENT)), True),
        (lambda a: a.add_framework("f2"), True),
        (lambda a: a.activate_framework("f1"), True),
        (lambda a: a.revive("f1"), True),
        (lambda a: a.update_agent("a1", R("cpus:1")), True),
        (lambda a: a.recover("f1", "a1", R("cpus:1"), 5.0), False),
        (lambda a: a.suppress("f1"), False),
        (lambda a: a.deactivate_framework("f1"), False),
        (lambda a: a.set_weight("*", 2.0), False),
        (lambda a: a.deactivate_agent("a1"), False),
        (lambda a: a.request_run(), True),
    ],
)
def test_which_events_ask_for_an_immediate_run(event: object, requests_run: bool) -> None:
    alloc, _ = make()
    alloc.add_framework("f1")
    alloc.add_agent("a1", R(AGENT))
    alloc.allocate()
    assert not alloc.needs_run()
    event(alloc)  # type: ignore[operator]
    assert alloc.needs_run() is requests_run


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda a: a.add_agent("a1", R("cpus:1")), DuplicateError),
        (lambda a: a.add_framework("f1"), DuplicateError),
        (lambda a: a.remove_agent("nope"), UnknownAgentError),
        (lambda a: a.update_agent("nope", R("cpus:1")), UnknownAgentError),
        (lambda a: a.suppress("nope"), UnknownFrameworkError),
        (lambda a: a.revive("nope"), UnknownFrameworkError),
        (lambda a: a.remove_framework("nope"), UnknownFrameworkError),
        (lambda a: a.add_framework("f9", role=""), ValueError),
        (lambda a: a.set_weight("r", -1.0), ValueError),
    ],
)
def test_bad_calls_raise_specific_errors(call: object, error: type[Exception]) -> None:
    alloc, _ = make()
    alloc.add_framework("f1")
    alloc.add_agent("a1", R("cpus:1"))
    with pytest.raises(error):
        call(alloc)  # type: ignore[operator]


def test_unknown_framework_recovery_is_ignored() -> None:
    alloc, _ = make()
    alloc.add_agent("a1", R("cpus:1"))
    alloc.recover("ghost", "a1", R("cpus:1"), 5.0)
    assert alloc.available("a1") == R("cpus:1")


def test_snapshot_reports_upstream_metric_names() -> None:
    alloc, _ = make()
    alloc.add_framework("f1", role="web")
    alloc.add_agent("a1", R("cpus:4;mem:4096;ports:[1-10]"))
    alloc.add_agent("a2", R("cpus:4;mem:4096"))
    alloc.deactivate_agent("a2")
    alloc.allocate()
    snap = alloc.snapshot()
    assert (snap.agents, snap.active_agents, snap.frameworks, snap.allocation_runs) == (2, 1, 1, 1)
    assert snap.allocated_by_framework == {"f1": R("cpus:4;mem:4096")}
    metrics = snap.metrics()
    assert metrics["allocator/mesos/resources/cpus/total"] == 8.0
    assert metrics["allocator/mesos/resources/cpus/offered_or_allocated"] == 4.0
    assert metrics["allocator/mesos/resources/mem/total"] == 8192.0
    assert metrics["allocator/mesos/allocation_runs"] == 1.0


def test_runs_are_reproducible_with_a_seeded_random() -> None:
    def run() -> list[Allocation]:
        alloc, _ = make()
        for f in ("f1", "f2", "f3"):
            alloc.add_framework(f, role=f)
        for i in range(50):
            alloc.add_agent(f"a{i}", R(f"cpus:{1 + i % 7};mem:{1024 * (1 + i % 3)}"))
        return alloc.allocate()

    assert run() == run()
