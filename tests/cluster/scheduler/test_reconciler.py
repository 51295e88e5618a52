import math

import pytest

from roost.cluster.scheduler.reconciler import Reconciler
from roost.core.clock import ManualClock


def make(interval: float = 900.0) -> tuple[ManualClock, Reconciler]:
    clock = ManualClock()
    return clock, Reconciler(clock, interval, initial_backoff=2.0, max_backoff=10.0)


def test_nothing_is_due_before_the_first_subscribe() -> None:
    _, rec = make()
    assert not rec.due()
    assert rec.next_deadline() is None


def test_implicit_reconciliation_right_after_subscribe_then_every_interval() -> None:
    clock, rec = make(interval=900.0)
    rec.subscribed()
    assert rec.due().implicit
    assert not rec.due().implicit  # asking counts as sent
    assert rec.next_deadline() == clock.monotonic() + 900.0
    clock.advance(899.0)
    assert not rec.due()
    clock.advance(1.0)
    assert rec.due().implicit


def test_resubscribe_makes_implicit_reconciliation_due_again_at_once() -> None:
    clock, rec = make()
    rec.subscribed()
    rec.due()
    clock.advance(5)
    rec.subscribed()
    assert rec.due().implicit


def test_non_positive_interval_keeps_only_the_after_subscribe_reconciliation() -> None:
    clock, rec = make(interval=0)
    assert rec.interval == math.inf
    rec.subscribed()
    assert rec.due().implicit
    clock.advance(10**6)
    assert not rec.due()
    assert rec.next_deadline() is None


def test_explicit_tasks_are_re_asked_with_truncated_exponential_backoff() -> None:
    clock, rec = make()
    rec.track([("t1", "a1"), ("t2", None)])
    asked_at: list[float] = []
    for _ in range(40):
        due = rec.due()
        if due.explicit:
            assert due.explicit == [("t1", "a1"), ("t2", None)]
            asked_at.append(clock.monotonic() - 1000.0)
        clock.advance(1.0)
    # 0, +2, +4, +8, +10 (capped), +10 ...
    assert asked_at == [0.0, 2.0, 6.0, 14.0, 24.0, 34.0]
    assert rec.pending["t1"].attempts == 6


def test_an_answered_task_is_no_longer_asked_about() -> None:
    clock, rec = make()
    rec.track([("t1", None), ("t2", None)])
    rec.due()
    assert rec.answered("t1")
    assert not rec.answered("t1")
    assert not rec.answered("never-tracked")
    clock.advance(2.0)
    assert rec.due().explicit == [("t2", None)]
    rec.answered("t2")
    assert rec.pending == {}
    assert rec.next_deadline() is None


def test_tracking_a_pending_task_again_keeps_its_pace_but_learns_its_agent() -> None:
    clock, rec = make()
    rec.track([("t1", None)])
    rec.due()
    clock.advance(1.0)
    rec.track([("t1", "a9")])
    assert not rec.due()
    clock.advance(1.0)
    assert rec.due().explicit == [("t1", "a9")]


def test_resubscribe_re_asks_pending_tasks_at_once() -> None:
    clock, rec = make()
    rec.track([("t1", None)])
    rec.due()
    clock.advance(0.5)
    rec.subscribed()
    due = rec.due()
    assert due.implicit and due.explicit == [("t1", None)]


def test_next_deadline_is_the_earliest_scheduled_send() -> None:
    clock, rec = make(interval=30.0)
    rec.subscribed()
    rec.due()
    rec.track([("t1", None)])
    assert rec.next_deadline() == clock.monotonic()
    rec.due()
    assert rec.next_deadline() == clock.monotonic() + 2.0


def test_backoff_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="initial_backoff"):
        Reconciler(ManualClock(), initial_backoff=5.0, max_backoff=1.0)
