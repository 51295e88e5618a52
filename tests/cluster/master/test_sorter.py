"""DrfSorter: Mesos ``sorter/drf/sorter.cpp`` ordering rules, incrementally maintained."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roost.cluster.master.allocator import ClusterTotals, DrfSorter
from roost.core.resources import Resources

R = Resources.parse


def sorter_with_total(total: str = "cpus:100;mem:1000", **kwargs: object) -> DrfSorter:
    s = DrfSorter(**kwargs)  # type: ignore[arg-type]
    s.add_total(R(total))
    return s


@pytest.mark.parametrize(
    ("allocation", "weight", "share"),
    [
        ("cpus:10", 1.0, 0.1),
        ("mem:500", 1.0, 0.5),
        ("cpus:10;mem:500", 1.0, 0.5),  # the dominant resource wins
        ("cpus:50;mem:100", 1.0, 0.5),
        ("cpus:50;mem:100", 2.0, 0.25),  # divided by the weight
        ("cpus:10;ports:[1-1000]", 1.0, 0.1),  # non-scalars take no part
        ("gpus:1", 1.0, 0.0),  # no gpus in the total: ignored, not infinite
        ("", 1.0, 0.0),
    ],
)
def test_share_is_the_dominant_fraction_divided_by_weight(
    allocation: str, weight: float, share: float
) -> None:
    s = sorter_with_total()
    s.set_weight("a", weight)
    s.add("a")
    s.allocated("a", R(allocation))
    assert s.share("a") == pytest.approx(share)


def test_lowest_share_sorts_first() -> None:
    s = sorter_with_total()
    for name in ("a", "b", "c"):
        s.add(name)
    s.allocated("a", R("cpus:30"))
    s.allocated("b", R("mem:100"))
    s.allocated("c", R("cpus:20"))
    assert s.sort() == ["b", "c", "a"]


def test_weight_two_client_holds_twice_the_allocation_at_equal_share() -> None:
    s = sorter_with_total()
    s.add("light")
    s.add("heavy")
    s.set_weight("heavy", 2.0)
    s.allocated("light", R("cpus:10"))
    s.allocated("heavy", R("cpus:19"))
    assert s.sort() == ["heavy", "light"]
    s.allocated("heavy", R("cpus:2"))  # 21/2 > 10
    assert s.sort() == ["light", "heavy"]


def test_ties_are_broken_by_allocation_count_then_name() -> None:
    s = sorter_with_total()
    for name in ("c", "b", "a"):
        s.add(name)
    assert s.sort() == ["a", "b", "c"]  # equal share and count: by name
    s.allocated("a", R("cpus:10"))
    s.allocated("b", R("cpus:5"))
    s.allocated("b", R("cpus:5"))  # same share as a, chosen twice
    s.allocated("c", R("cpus:10"))
    assert s.sort() == ["a", "c", "b"]


def test_count_only_grows_so_recovery_keeps_the_tie_break() -> None:
    s = sorter_with_total()
    s.add("a")
    s.add("b")
    s.allocated("a", R("cpus:10"))
    s.unallocated("a", R("cpus:10"))
    assert s.count("a") == 1
    assert s.sort() == ["b", "a"]


def test_excluded_resources_take_no_part_in_fairness() -> None:
    s = sorter_with_total("cpus:100;gpus:4", excluded={"gpus"})
    s.add("a")
    s.add("b")
    s.allocated("a", R("cpus:10;gpus:4"))
    s.allocated("b", R("cpus:20"))
    assert s.share("a") == pytest.approx(0.1)
    assert s.sort() == ["a", "b"]


def test_inactive_clients_are_not_sorted_but_keep_their_allocation() -> None:
    s = sorter_with_total()
    s.add("a")
    s.add("b", active=False)
    s.allocated("b", R("cpus:10"))
    assert s.sort() == ["a"]
    s.activate("b")
    s.allocated("a", R("cpus:20"))
    assert s.sort() == ["b", "a"]
    s.deactivate("a")
    assert s.sort() == ["b"]
    assert s.allocation("a") == R("cpus:20")


def test_total_changes_are_applied_lazily_on_the_next_sort() -> None:
    s = sorter_with_total("cpus:100;mem:1000")
    s.add("a")
    s.add("b")
    s.allocated("a", R("cpus:10"))  # 0.10
    s.allocated("b", R("mem:50"))  # 0.05
    assert s.sort() == ["b", "a"]
    s.add_total(R("cpus:900"))  # cpus share of a drops to 0.01
    assert s.sort() == ["a", "b"]
    s.remove_total(R("cpus:900"))
    assert s.sort() == ["b", "a"]


def test_sorters_sharing_totals_see_each_others_agents() -> None:
    totals = ClusterTotals()
    roles, frameworks = DrfSorter(totals=totals), DrfSorter(totals=totals)
    roles.add("r")
    frameworks.add("f")
    roles.add_total(R("cpus:10"))
    frameworks.allocated("f", R("cpus:5"))
    assert frameworks.share("f") == pytest.approx(0.5)


def test_removed_client_is_forgotten() -> None:
    s = sorter_with_total()
    s.add("a")
    s.allocated("a", R("cpus:1"))
    s.remove("a")
    assert "a" not in s
    assert s.sort() == []
    s.add("a")
    assert s.allocation("a") == R("")


@pytest.mark.parametrize("weight", [0.0, -1.0, float("nan"), float("inf")])
def test_weights_must_be_positive_and_finite(weight: float) -> None:
    with pytest.raises(ValueError, match="weight"):
        DrfSorter().set_weight("a", weight)


def test_adding_a_client_twice_is_an_error() -> None:
    s = DrfSorter()
    s.add("a")
    with pytest.raises(ValueError, match="already known"):
        s.add("a")


def brute_force_order(s: DrfSorter, names: list[str]) -> list[str]:
    total = s.total()

    def share(n: str) -> float:
        alloc = s.allocation(n)
        fractions = [m / t for r, m in alloc.scalar_items() if (t := total.millis(r))]
        return max(fractions, default=0.0) / s.weight(n)

    return sorted((n for n in names if s.is_active(n)), key=lambda n: (share(n), s.count(n), n))


events = st.lists(
    st.tuples(
        st.sampled_from(["alloc", "free", "total", "weight", "toggle"]),
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(min_value=1, max_value=50),
        st.sampled_from(["cpus", "mem", "disk"]),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(events)
def test_incremental_order_matches_a_full_recomputation(
    evs: list[tuple[str, str, int, str]],
) -> None:
    names = ["a", "b", "c", "d"]
    s = sorter_with_total("cpus:100;mem:100;disk:100")
    for n in names:
        s.add(n)
    for kind, client, amount, resource in evs:
        r = Resources.scalars(**{resource: amount})
        if kind == "alloc":
            s.allocated(client, r)
        elif kind == "free":
            s.unallocated(client, r)
        elif kind == "total":
            s.add_total(r)
        elif kind == "weight":
            s.set_weight(client, amount / 10)
        elif s.is_active(client):
            s.deactivate(client)
        else:
            s.activate(client)
        assert s.sort() == brute_force_order(s, names)
