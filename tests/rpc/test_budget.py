"""RetryBudget: Finagle's token arithmetic on a virtual clock."""

from __future__ import annotations

import math

import pytest

from roost.core.clock import ManualClock
from roost.rpc.budget import RetryBudget


def drain(budget: RetryBudget) -> int:
    """Withdraw until refused; how many retries were allowed."""
    n = 0
    while budget.try_withdraw():
        n += 1
    return n


def test_default_budget_uses_finagle_token_amounts() -> None:
    budget = RetryBudget(clock=ManualClock())
    assert (budget.deposit_amount, budget.withdraw_amount, budget.reserve) == (1000, 5000, 500_000)
    assert budget.balance == 100


def test_retry_budget_allows_a_floor_of_ten_retries_per_second_over_ttl() -> None:
    budget = RetryBudget(clock=ManualClock())
    assert drain(budget) == 100
    assert budget.balance == 0


def test_retry_budget_allows_twenty_percent_plus_floor() -> None:
    budget = RetryBudget(clock=ManualClock())
    for _ in range(500):
        budget.deposit()
    assert budget.balance == 100 + 100
    assert drain(budget) == 200


def test_five_deposits_buy_one_retry() -> None:
    budget = RetryBudget(clock=ManualClock())
    drain(budget)
    for _ in range(4):
        budget.deposit()
    assert not budget.try_withdraw()
    budget.deposit()
    assert budget.try_withdraw()
    assert not budget.try_withdraw()


def test_withdrawals_expire_after_ttl_and_the_floor_returns() -> None:
    clock = ManualClock()
    budget = RetryBudget(clock=clock)
    assert drain(budget) == 100
    clock.advance(5.0)
    assert budget.balance == 0
    clock.advance(5.0)
    assert budget.balance == 100


def test_deposits_expire_after_ttl() -> None:
    clock = ManualClock()
    budget = RetryBudget(clock=clock)
    for _ in range(100):
        budget.deposit()
    assert budget.balance == 120
    clock.advance(9.5)
    assert budget.balance == 120
    clock.advance(0.5)
    assert budget.balance == 100


def test_empty_budget_never_allows_a_retry() -> None:
    budget = RetryBudget.empty()
    assert budget.is_empty
    for _ in range(1000):
        budget.deposit()
    assert budget.balance == 0
    assert not budget.try_withdraw()


def test_no_floor_and_no_percent_is_the_empty_budget() -> None:
    budget = RetryBudget(min_retries_per_sec=0, percent_can_retry=0.0, clock=ManualClock())
    budget.deposit()
    assert budget.is_empty and not budget.try_withdraw()


def test_zero_percent_keeps_only_the_floor() -> None:
    budget = RetryBudget(ttl=2.0, min_retries_per_sec=3, percent_can_retry=0.0, clock=ManualClock())
    assert (budget.deposit_amount, budget.withdraw_amount, budget.reserve) == (0, 1, 6)
    for _ in range(100):
        budget.deposit()
    assert drain(budget) == 6


def test_no_floor_allows_only_the_percent_of_deposits() -> None:
    budget = RetryBudget(min_retries_per_sec=0, percent_can_retry=0.5, clock=ManualClock())
    assert budget.balance == 0
    for _ in range(10):
        budget.deposit()
    assert drain(budget) == 5


def test_a_percent_above_one_allows_more_retries_than_requests() -> None:
    budget = RetryBudget(min_retries_per_sec=0, percent_can_retry=1000.0, clock=ManualClock())
    assert budget.withdraw_amount == 1
    budget.deposit()
    assert budget.balance == 1000


def test_withdraw_amount_truncates_like_upstream() -> None:
    budget = RetryBudget(percent_can_retry=0.3, clock=ManualClock())
    assert budget.withdraw_amount == 3333
    assert budget.reserve == 10 * 10 * 3333


def test_the_reserve_counts_whole_seconds_of_ttl() -> None:
    budget = RetryBudget(ttl=1.5, clock=ManualClock())
    assert budget.reserve == 10 * 1 * 5000


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ttl": 0.5}, "ttl must be between 1 and 60 seconds, got 0.5"),
        ({"ttl": 61.0}, "ttl must be between 1 and 60 seconds, got 61.0"),
        ({"ttl": math.nan}, "ttl must be between 1 and 60 seconds"),
        ({"min_retries_per_sec": -1}, "min_retries_per_sec must be at least 0, got -1"),
        ({"percent_can_retry": -0.1}, "percent_can_retry must be between 0 and 1000, got -0.1"),
        ({"percent_can_retry": 1000.5}, "percent_can_retry must be between 0 and 1000"),
        ({"percent_can_retry": math.nan}, "percent_can_retry must be between 0 and 1000"),
    ],
)
def test_invalid_budget_arguments_are_refused_with_a_specific_message(
    kwargs: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RetryBudget(**kwargs)  # type: ignore[arg-type]


def test_ttl_bounds_are_inclusive() -> None:
    assert RetryBudget(ttl=1.0).reserve == 10 * 1 * 5000
    assert RetryBudget(ttl=60.0).reserve == 10 * 60 * 5000


def test_withdraw_only_view_ignores_deposits_but_shares_withdrawals() -> None:
    budget = RetryBudget(clock=ManualClock())
    view = budget.withdraw_only()
    for _ in range(50):
        view.deposit()
    assert budget.balance == view.balance == 100
    assert view.try_withdraw()
    assert budget.balance == 99
    budget.deposit()
    budget.deposit()
    budget.deposit()
    budget.deposit()
    budget.deposit()
    assert view.balance == 100
