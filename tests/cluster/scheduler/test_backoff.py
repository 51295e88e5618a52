import pytest

from roost.cluster.scheduler.backoff import Backoff


def test_backoff_doubles_up_to_the_cap() -> None:
    b = Backoff(1.0, 15.0, jitter=0.0)
    assert [b.next() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    assert b.attempts == 6


def test_reset_starts_over_from_the_initial_delay() -> None:
    b = Backoff(0.5, 4.0, jitter=0.0)
    b.next()
    b.next()
    b.reset()
    assert b.next() == 0.5
    assert b.attempts == 1


def test_jitter_only_shortens_a_delay() -> None:
    low = Backoff(2.0, 8.0, jitter=0.25, rng=lambda: 1.0)
    high = Backoff(2.0, 8.0, jitter=0.25, rng=lambda: 0.0)
    assert low.next() == 1.5
    assert high.next() == 2.0
    assert low.peek() == high.peek() == 4.0


@pytest.mark.parametrize(("initial", "cap"), [(0.0, 1.0), (2.0, 1.0), (-1.0, 5.0)])
def test_backoff_rejects_nonsense_bounds(initial: float, cap: float) -> None:
    with pytest.raises(ValueError, match="0 < initial <= cap"):
        Backoff(initial, cap)
