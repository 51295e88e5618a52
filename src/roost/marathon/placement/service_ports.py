"""Service ports: ``portDefinitions[].port == 0`` replaced by a free port of 10000-19999.

Marathon's ``GroupManagerImpl.assignDynamicServicePorts`` with ``--local_port_min`` /
``--local_port_max`` (defaults 10000 and 20000): the range is Scala's ``Range(min, max)``,
so ``high`` itself is never assigned. Ports that are already non-zero are kept; a port the
previous version of the app held (and the new one does not use explicitly) is handed back to
it first, so a redeployed app keeps its service ports; otherwise the lowest port not in
``used`` is taken. When none is left: ``PortsExhausted``, with Marathon's message.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import TypeVar

from roost.marathon.placement.app_spec import AppSpec

A = TypeVar("A", bound=AppSpec)


class PortsExhausted(ValueError):
    """No service port is free in the range (Marathon's ``PortRangeExhaustedException``)."""

    def __init__(self, low: int, high: int) -> None:
        super().__init__(f"All ports in the range [{low}-{high}) are already in use")
        self.low = low
        self.high = high


class ServicePortAllocator:
    """Assigns service ports from ``low`` (inclusive) to ``high`` (exclusive)."""

    def __init__(self, low: int = 10000, high: int = 20000) -> None:
        if not 0 < low <= high <= 65536:
            raise ValueError(f"bad service port range [{low}-{high})")
        self.low = low
        self.high = high

    def assign(self, app: A, used: set[int], *, previous: AppSpec | None = None) -> A:
        """``app`` with every port 0 replaced; ``used`` are ports other apps hold (not changed).

        ``previous`` is the app's current version, whose service ports it may keep.
        """
        definitions = list(app.port_definitions)
        if all(d.port != 0 for d in definitions):
            return app
        explicit = {d.port for d in definitions if d.port != 0}
        held = [d.port for d in previous.port_definitions] if previous is not None else []
        reuse = deque(p for p in held if self.low <= p < self.high and p not in explicit)
        taken = set(used) | explicit
        fresh = self._free(taken)
        new = []
        for d in definitions:
            if d.port != 0:
                new.append(d)
                continue
            port = reuse.popleft() if reuse else next(fresh, None)
            if port is None:
                raise PortsExhausted(self.low, self.high)
            taken.add(port)
            new.append(d.model_copy(update={"port": port}))
        return app.model_copy(update={"port_definitions": new})

    def _free(self, taken: set[int]) -> Iterator[int]:
        # ``taken`` grows while this runs (reused ports are added), so it is checked lazily.
        return (p for p in range(self.low, self.high) if p not in taken)
