"""Offer statistics: the processedOffersSummary of /v2/queue (OfferMatchStatistics, LaunchStats)."""

from __future__ import annotations

import pytest

from roost.core.clock import ManualClock
from roost.marathon.placement import REASONS, OfferStats, funnel


def fmt(ts: float) -> str:
    return f"t={ts:g}"


def steps(summary: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    return [(s["reason"], s["declined"], s["processed"]) for s in summary]


def test_reasons_are_marathons_funnel_in_order() -> None:
    assert REASONS == (
        "UnfulfilledRole",
        "UnfulfilledConstraint",
        "NoCorrespondingReservationFound",
        "AgentMaintenance",
        "InsufficientCpus",
        "InsufficientMemory",
        "InsufficientDisk",
        "InsufficientGpus",
        "InsufficientPorts",
        "DeclinedScarceResources",
    )


def test_funnel_subtracts_each_steps_declines_from_what_the_next_step_sees() -> None:
    # upstream QueueInfoConversionTest: 123 processed, 75 cpus, 15 mem, 10 disk
    summary = funnel(
        123, {"InsufficientCpus": 75, "InsufficientMemory": 15, "InsufficientDisk": 10}
    )
    assert steps(summary) == [
        ("UnfulfilledRole", 0, 123),
        ("UnfulfilledConstraint", 0, 123),
        ("NoCorrespondingReservationFound", 0, 123),
        ("AgentMaintenance", 0, 123),
        ("InsufficientCpus", 75, 123),
        ("InsufficientMemory", 15, 48),
        ("InsufficientDisk", 10, 33),
        ("InsufficientGpus", 0, 23),
        ("InsufficientPorts", 0, 23),
        ("DeclinedScarceResources", 0, 23),
    ]


def test_a_fresh_entry_reports_zero_counts_every_reason_and_no_timestamps() -> None:
    summary = OfferStats().summary(fmt)
    assert summary["processedOffersCount"] == 0
    assert summary["unusedOffersCount"] == 0
    assert "lastUnusedOfferAt" not in summary
    assert "lastUsedOfferAt" not in summary
    for key in ("rejectSummaryLastOffers", "rejectSummaryLaunchAttempt"):
        assert steps(summary[key]) == [(r, 0, 0) for r in REASONS]


def test_used_and_unused_offers_are_counted_with_their_last_times() -> None:
    clock = ManualClock()
    stats = OfferStats()
    stats.record("InsufficientCpus", clock.time(), agent_id="a1")
    clock.advance(5)
    stats.record(None, clock.time(), agent_id="a2")
    clock.advance(5)
    stats.record("UnfulfilledConstraint", clock.time(), agent_id="a3")
    summary = stats.summary(fmt)
    assert summary["processedOffersCount"] == 3
    assert summary["unusedOffersCount"] == 2
    assert summary["lastUsedOfferAt"] == fmt(clock.time() - 5)
    assert summary["lastUnusedOfferAt"] == fmt(clock.time())
    attempt = {s["reason"]: s for s in summary["rejectSummaryLaunchAttempt"]}
    assert attempt["UnfulfilledConstraint"] == {
        "reason": "UnfulfilledConstraint",
        "declined": 1,
        "processed": 3,
    }
    assert attempt["InsufficientCpus"] == {
        "reason": "InsufficientCpus",
        "declined": 1,
        "processed": 2,
    }
    assert attempt["InsufficientMemory"]["processed"] == 1


def test_last_offers_keep_only_the_latest_rejection_per_agent() -> None:
    stats = OfferStats()
    stats.record("InsufficientCpus", 1.0, agent_id="a1")
    stats.record("InsufficientCpus", 2.0, agent_id="a1")
    stats.record("InsufficientMemory", 3.0, agent_id="a1")
    stats.record("InsufficientPorts", 4.0, agent_id="a2")
    stats.record(None, 5.0, agent_id="a2")  # a match leaves the agent's last rejection in place
    last = {
        s["reason"]: (s["declined"], s["processed"])
        for s in stats.summary(fmt)["rejectSummaryLastOffers"]
    }
    assert last["InsufficientCpus"] == (0, 2)
    assert last["InsufficientMemory"] == (1, 2)
    assert last["InsufficientPorts"] == (1, 1)
    attempt = {s["reason"]: s["declined"] for s in stats.summary(fmt)["rejectSummaryLaunchAttempt"]}
    assert attempt["InsufficientCpus"] == 2


def test_offers_without_an_agent_each_count_in_a_bounded_window() -> None:
    stats = OfferStats(last_offers_limit=3)
    for reason in ["InsufficientCpus"] * 4 + ["InsufficientDisk"]:
        stats.record(reason, 1.0)
    last = {s["reason"]: s["declined"] for s in stats.summary(fmt)["rejectSummaryLastOffers"]}
    assert last["InsufficientCpus"] == 2
    assert last["InsufficientDisk"] == 1
    assert stats.summary(fmt)["rejectSummaryLastOffers"][0]["processed"] == 3
    assert stats.summary(fmt)["unusedOffersCount"] == 5


def test_reset_forgets_everything_like_launch_finished() -> None:
    stats = OfferStats()
    stats.record("InsufficientCpus", 1.0, agent_id="a1")
    stats.record(None, 2.0)
    stats.reset()
    assert stats.summary(fmt) == OfferStats().summary(fmt)


def test_an_unknown_reason_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown offer rejection reason 'NoLuck'"):
        OfferStats().record("NoLuck", 1.0)
