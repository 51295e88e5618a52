"""Shared test doubles for the balancer tests."""

from __future__ import annotations

import random


class ScriptedRandom(random.Random):
    """Answers ``randrange`` from a script, to make P2C's two choices exact."""

    def __init__(self, *picks: int) -> None:
        super().__init__(0)
        self.picks = list(picks)

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        value = self.picks.pop(0)
        assert 0 <= value < (start if stop is None else stop - start)
        return value
