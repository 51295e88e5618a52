"""Retry budgets (Finagle ``RetryBudget.scala``): how many retries a client may send.

A budget turns retries into a fraction of recent traffic, so a failing backend sees at most
``1 + percent_can_retry`` times the client's load plus a small floor, never a retry storm.
It is an integer leaky bucket (:class:`roost.rpc.window.LeakyBucket`, 10 slices over ``ttl``)
with a scale of 1000 tokens per request:

* ``deposit()`` adds 1000 tokens (0 when ``percent_can_retry == 0``);
* ``try_withdraw()`` takes ``int(1000 / percent_can_retry)`` tokens (1 when the percent is 0),
  so with the default 0.2 one retry costs five deposits;
* a constant ``reserve = min_retries_per_sec * ttl_secs * withdraw`` never expires, which
  allows ``min_retries_per_sec`` retries per second even without traffic (default:
  10 · 10 · 5000 = 500 000 tokens, 100 retries per 10 s).

Deposits and withdrawals expire after about ``ttl``. ``balance`` is the number of retries the
budget would allow now. With no floor and no percent the budget is empty and never allows a
retry.

Who deposits: a :class:`~roost.rpc.retries.RetryFilter` deposits once per logical request; a
:class:`~roost.rpc.retries.RequeueFilter` deposits on success only, and under a retry filter
it shares the budget through :meth:`RetryBudget.withdraw_only` so a request deposits once.
"""

from __future__ import annotations

import math
from typing import Protocol

from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.rpc.window import LeakyBucket

SCALE = 1000
"""Tokens deposited per request (Finagle's ``scaleFactor``)."""


class Budget(Protocol):
    """What the retry filters need from a budget."""

    def deposit(self, n: int = 1) -> None: ...

    def try_withdraw(self) -> bool: ...

    @property
    def balance(self) -> int: ...


class RetryBudget:
    """A token retry budget (Finagle ``RetryBudget(ttl, minRetriesPerSec, percentCanRetry)``).

    ``ttl`` must be 1..60 seconds; ``min_retries_per_sec`` at least 0; ``percent_can_retry``
    0..1000 (0.2 means retries may add 20 % to the requests deposited). The reserve uses
    whole seconds of ``ttl``, as upstream (``ttl.inSeconds``).
    """

    __slots__ = (
        "_bucket",
        "deposit_amount",
        "min_retries_per_sec",
        "percent_can_retry",
        "reserve",
        "ttl",
        "withdraw_amount",
    )

    def __init__(
        self,
        ttl: float = 10.0,
        min_retries_per_sec: int = 10,
        percent_can_retry: float = 0.2,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if not (math.isfinite(ttl) and 1.0 <= ttl <= 60.0):
            raise ValueError(f"retry budget ttl must be between 1 and 60 seconds, got {ttl!r}")
        if min_retries_per_sec < 0:
            raise ValueError(
                f"retry budget min_retries_per_sec must be at least 0, got {min_retries_per_sec!r}"
            )
        if not (0.0 <= percent_can_retry <= 1000.0):
            raise ValueError(
                f"retry budget percent_can_retry must be between 0 and 1000, "
                f"got {percent_can_retry!r}"
            )
        self.ttl = ttl
        self.min_retries_per_sec = min_retries_per_sec
        self.percent_can_retry = percent_can_retry
        if percent_can_retry == 0.0:
            self.deposit_amount = 0
            self.withdraw_amount = 1
        else:
            self.deposit_amount = SCALE
            self.withdraw_amount = int(SCALE / percent_can_retry)
        self.reserve = int(min_retries_per_sec * int(ttl) * self.withdraw_amount)
        self._bucket: LeakyBucket | None = None
        if min_retries_per_sec != 0 or percent_can_retry != 0.0:
            self._bucket = LeakyBucket(ttl, self.reserve, clock)

    @classmethod
    def empty(cls) -> RetryBudget:
        """A budget that never allows a retry (Finagle ``RetryBudget.Empty``)."""
        return cls(min_retries_per_sec=0, percent_can_retry=0.0)

    @property
    def is_empty(self) -> bool:
        return self._bucket is None

    def deposit(self, n: int = 1) -> None:
        """Credit one request (a fraction of a retry); ``n``: that many."""
        if self._bucket is not None and self.deposit_amount:
            self._bucket.put(self.deposit_amount * n)

    def try_withdraw(self) -> bool:
        """Take one retry if the budget has it."""
        return self._bucket is not None and self._bucket.try_get(self.withdraw_amount)

    @property
    def balance(self) -> int:
        """Retries the budget would allow now."""
        if self._bucket is None:
            return 0
        return self._bucket.count() // self.withdraw_amount

    def withdraw_only(self) -> WithdrawOnlyBudget:
        """This budget with deposits ignored, for a requeue filter under a retry filter."""
        return WithdrawOnlyBudget(self)

    def __repr__(self) -> str:
        return (
            f"RetryBudget(ttl={self.ttl!r}, min_retries_per_sec={self.min_retries_per_sec!r}, "
            f"percent_can_retry={self.percent_can_retry!r}, balance={self.balance})"
        )


class WithdrawOnlyBudget:
    """A view of a budget whose :meth:`deposit` does nothing: withdrawals and the balance are
    the underlying budget's, so two filters share it while a request deposits only once."""

    __slots__ = ("budget",)

    def __init__(self, budget: Budget) -> None:
        self.budget = budget

    def deposit(self, n: int = 1) -> None:
        pass

    def try_withdraw(self) -> bool:
        return self.budget.try_withdraw()

    @property
    def balance(self) -> int:
        return self.budget.balance

    def __repr__(self) -> str:
        return f"WithdrawOnlyBudget({self.budget!r})"
