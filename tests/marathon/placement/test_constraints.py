"""Constraints: every operator against an offer and the app's peers (Constraints.scala)."""

from __future__ import annotations

from typing import Any

import pytest

from roost.marathon.placement import Peer, meets_constraint, offer_view, place
from tests.marathon.placement import app, offer


def on(host: str, **attributes: str) -> Peer:
    return Peer(host, attributes)


def racks(*names: str) -> list[Peer]:
    return [Peer(f"p{i}", {"rack": r}) for i, r in enumerate(names)]


# (constraint, offer attributes (hostname h1), peers, accepted)
CASES: list[tuple[list[str], dict[str, Any], list[Peer], bool]] = [
    # UNIQUE
    (["hostname", "UNIQUE"], {}, [], True),
    (["hostname", "UNIQUE"], {}, [on("h2")], True),
    (["hostname", "UNIQUE"], {}, [on("h2"), on("h1")], False),
    (["@hostname", "UNIQUE"], {}, [on("h1")], False),
    (["rack", "UNIQUE"], {"rack": "r1"}, racks("r2"), True),
    (["rack", "UNIQUE"], {"rack": "r1"}, racks("r1"), False),
    (["rack", "UNIQUE"], {"rack": "r1"}, [on("h9")], True),  # a peer without the attribute
    # CLUSTER
    (["rack", "CLUSTER", "r1"], {"rack": "r1"}, [], True),
    (["rack", "CLUSTER", "r1"], {"rack": "r2"}, [], False),
    (["hostname", "CLUSTER", "h1"], {}, [], True),
    (["hostname", "CLUSTER", "h2"], {}, [], False),
    (["rack", "CLUSTER"], {"rack": "r2"}, [], True),  # the first placement pins the value
    (["rack", "CLUSTER"], {"rack": "r2"}, racks("r2", "r2"), True),
    (["rack", "CLUSTER"], {"rack": "r2"}, racks("r1"), False),
    (["hostname", "CLUSTER"], {}, [on("h2")], False),
    # GROUP_BY
    (["rack", "GROUP_BY"], {"rack": "r1"}, [], True),
    (["rack", "GROUP_BY"], {"rack": "r1"}, racks("r1"), True),  # only one group is known
    (["rack", "GROUP_BY"], {"rack": "r1"}, racks("r1", "r2"), True),
    (["rack", "GROUP_BY"], {"rack": "r1"}, racks("r1", "r1", "r2"), False),
    (["rack", "GROUP_BY"], {"rack": "r2"}, racks("r1", "r1", "r2"), True),
    (["rack", "GROUP_BY"], {"rack": "r3"}, racks("r1", "r1", "r2"), True),  # a new group
    (["rack", "GROUP_BY", "2"], {"rack": "r1"}, racks("r1"), False),  # r2 is still empty
    (["rack", "GROUP_BY", "2"], {"rack": "r2"}, racks("r1"), True),
    (["rack", "GROUP_BY", "2"], {"rack": "r1"}, racks("r1", "r2"), True),
    (["rack", "GROUP_BY", "3"], {"rack": "r2"}, racks("r1", "r2"), False),
    (["hostname", "GROUP_BY"], {}, [on("h1"), on("h2"), on("h2")], True),
    # MAX_PER
    (["rack", "MAX_PER", "2"], {"rack": "r1"}, racks("r1"), True),
    (["rack", "MAX_PER", "2"], {"rack": "r1"}, racks("r1", "r1"), False),
    (["rack", "MAX_PER", "2"], {"rack": "r1"}, racks("r2", "r2", "r2"), True),
    (["hostname", "MAX_PER", "1"], {}, [on("h1")], False),
    (["rack", "MAX_PER", "two"], {"rack": "r1"}, [], False),
    # LIKE / UNLIKE: the whole value must match
    (["rack", "LIKE", "rack-[1-3]"], {"rack": "rack-2"}, [], True),
    (["rack", "LIKE", "rack-[1-3]"], {"rack": "rack-20"}, [], False),
    (["rack", "LIKE", "rack"], {"rack": "rack-2"}, [], False),
    (["hostname", "LIKE", "h[0-9]"], {}, [], True),
    (["rack", "UNLIKE", "rack-[7-9]"], {"rack": "rack-2"}, [], True),
    (["rack", "UNLIKE", "rack-[7-9]"], {"rack": "rack-8"}, [], False),
    (["rack", "LIKE", "("], {"rack": "("}, [], False),  # a broken regex refuses
    # IS: equality with the formatted value
    (["rack", "IS", "r1"], {"rack": "r1"}, [], True),
    (["rack", "IS", "r1"], {"rack": "r10"}, [], False),
    (["cores", "IS", "3"], {"cores": 3.0}, [], True),
    (["cores", "IS", "3.0"], {"cores": 3.0}, [], False),
    (["weight", "IS", "2.5"], {"weight": 2.5}, [], True),
    (["zones", "IS", "{a,b}"], {"zones": {"b", "a"}}, [], True),
    (["span", "IS", "[1-2,4-5]"], {"span": [(4, 5), (1, 2)]}, [], True),
    # unknown operators and malformed constraints refuse
    (["rack", "NEAR", "r1"], {"rack": "r1"}, [], False),
    (["rack"], {"rack": "r1"}, [], False),
]


@pytest.mark.parametrize(("constraint", "attributes", "peers", "accepted"), CASES)
def test_constraint_operators_follow_marathon(
    constraint: list[str], attributes: dict[str, Any], peers: list[Peer], accepted: bool
) -> None:
    target = offer_view(offer("h1", attributes=attributes))
    assert meets_constraint(constraint, target, peers) is accepted


@pytest.mark.parametrize(
    "constraint",
    [
        ["rack", "UNIQUE"],
        ["rack", "CLUSTER", "r1"],
        ["rack", "CLUSTER"],
        ["rack", "GROUP_BY"],
        ["rack", "LIKE", ".*"],
        ["rack", "MAX_PER", "5"],
        ["rack", "IS", "r1"],
        ["@region", "UNIQUE"],
    ],
)
def test_agent_without_the_attribute_is_refused_by_every_operator_but_unlike(
    constraint: list[str],
) -> None:
    target = offer_view(offer("h1", attributes={"other": "x"}))
    assert not meets_constraint(constraint, target, [])


def test_unlike_accepts_an_agent_without_the_attribute() -> None:
    target = offer_view(offer("h1"))
    assert meets_constraint(["rack", "UNLIKE", "r1"], target, [])


def test_region_and_zone_fields_read_the_offers_fault_domain() -> None:
    target = offer_view(offer("h1", region="eu", zone="eu-1a"))
    assert meets_constraint(["@region", "IS", "eu"], target, [])
    assert meets_constraint(["@zone", "LIKE", "eu-1."], target, [])
    peer = Peer("h2", {}, region="eu", zone="eu-1a")
    assert not meets_constraint(["@zone", "UNIQUE"], target, [peer])
    assert meets_constraint(["@zone", "UNIQUE"], target, [Peer("h2", {}, "eu", "eu-1b")])


def test_unique_constraint_rejects_second_task_on_same_host() -> None:
    result = place(offer("h1"), app(constraints=[["hostname", "UNIQUE"]]), [], 3)
    assert len(result.placements) == 1
    assert result.reason == "UnfulfilledConstraint"


def test_max_per_counts_instances_placed_on_the_same_offer() -> None:
    spec = app(constraints=[["rack", "MAX_PER", "2"]])
    result = place(offer("h1", attributes={"rack": "r1"}), spec, racks("r1"), 5)
    assert len(result.placements) == 1
    assert result.reason == "UnfulfilledConstraint"


def test_cluster_without_value_follows_the_first_peer() -> None:
    spec = app(constraints=[["hostname", "CLUSTER"]])
    assert place(offer("h1"), spec, [on("h2")], 1).reason == "UnfulfilledConstraint"
    assert len(place(offer("h2"), spec, [on("h2")], 2).placements) == 2


def test_all_constraints_must_hold() -> None:
    spec = app(constraints=[["rack", "IS", "r1"], ["hostname", "UNIQUE"]])
    assert place(offer("h1", attributes={"rack": "r2"}), spec, [], 1).reason is not None
    assert place(offer("h1", attributes={"rack": "r1"}), spec, [on("h1")], 1).reason is not None
    assert place(offer("h1", attributes={"rack": "r1"}), spec, [on("h2")], 1).reason is None
