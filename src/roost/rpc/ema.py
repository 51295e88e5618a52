"""An exponential moving average over a stamped series (Finagle ``util.Ema``).

Stamps are whatever moves forward: seconds for averages over time (the aperture's load
band, success rate within a duration), request counts for averages over requests (success
rate over the last N requests). With ``td`` the stamp difference::

    w = exp(-td / window);  ema = x * (1 - w) + ema * w

The first observation is taken as is.
"""

from __future__ import annotations

import math


class Ema:
    __slots__ = ("_stamp", "value", "window")

    def __init__(self, window: float) -> None:
        if window < 0:
            raise ValueError(f"an EMA window cannot be negative: {window}")
        self.window = window
        self.value = 0.0
        self._stamp: float | None = None

    def update(self, stamp: float, x: float) -> float:
        if self._stamp is None:
            self.value = x
        else:
            td = max(stamp - self._stamp, 0.0)
            w = math.exp(-td / self.window) if self.window > 0 else 0.0
            self.value = x * (1.0 - w) + self.value * w
            stamp = max(stamp, self._stamp)
        self._stamp = stamp
        return self.value

    def reset(self) -> None:
        self.value = 0.0
        self._stamp = None
