import pytest

from roost.cluster.scheduler.watchdog import DEFAULT_HEARTBEAT_INTERVAL, HeartbeatWatchdog
from roost.core.clock import ManualClock


def test_stream_is_dead_after_five_missed_default_heartbeats() -> None:
    clock = ManualClock()
    dog = HeartbeatWatchdog(clock)
    assert dog.timeout == 5 * DEFAULT_HEARTBEAT_INTERVAL
    clock.advance(74.9)
    assert not dog.expired()
    assert dog.remaining() == pytest.approx(0.1)
    clock.advance(0.1)
    assert dog.expired()
    assert dog.remaining() == 0.0


def test_any_event_pushes_the_deadline_back() -> None:
    clock = ManualClock()
    dog = HeartbeatWatchdog(clock, factor=2.0, interval=1.0)
    clock.advance(1.5)
    dog.beat()
    clock.advance(1.5)
    assert not dog.expired()
    assert dog.remaining() == pytest.approx(0.5)


def test_subscribed_interval_replaces_the_default_and_counts_as_an_event() -> None:
    clock = ManualClock()
    dog = HeartbeatWatchdog(clock, factor=3.0)
    clock.advance(10)
    dog.set_interval(2.0)
    assert dog.timeout == 6.0
    assert dog.deadline == clock.monotonic() + 6.0


@pytest.mark.parametrize("bad", [None, 0, -1.0])
def test_missing_or_bad_interval_keeps_the_current_one(bad: float | None) -> None:
    dog = HeartbeatWatchdog(ManualClock(), interval=4.0)
    dog.set_interval(bad)
    assert dog.interval == 4.0


def test_factor_must_be_positive() -> None:
    with pytest.raises(ValueError, match="factor"):
        HeartbeatWatchdog(ManualClock(), factor=0)
