"""The resources of one offer an app may still use: accepted entries minus earlier placements.

Taking resources returns the Mesos ``Resource`` JSON a task is launched with, one item per
offer entry it came from (so role, reservation and ``allocation_info`` are carried over), and a
new pool without them. Entries are consumed in offer order, as Marathon's
``ResourceMatcher.consumeResources`` walks them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from roost.core.ranges import Ranges
from roost.marathon.placement.offer_view import OfferedResource

Taken = tuple[list[dict[str, Any]], "ResourcePool"]


@dataclass(frozen=True)
class ResourcePool:
    """An immutable list of offer entries; :meth:`take_scalar` / :meth:`take_ranges` split them."""

    entries: tuple[OfferedResource, ...] = ()

    @classmethod
    def of(cls, entries: Iterable[OfferedResource]) -> ResourcePool:
        return cls(tuple(entries))

    def millis(self, name: str) -> int:
        """The total of scalar ``name``, in thousandths."""
        return sum(e.value for e in self.entries if e.name == name and isinstance(e.value, int))

    def ranges(self, name: str = "ports") -> Ranges:
        """The union of ranges ``name`` over all entries."""
        out = Ranges()
        for e in self.entries:
            if e.name == name and isinstance(e.value, Ranges):
                out = out + e.value
        return out

    def take_scalar(self, name: str, millis: int) -> Taken | None:
        """Take ``millis`` thousandths of ``name``, from as many entries as needed; None if short."""
        if millis <= 0:
            return [], self
        if self.millis(name) < millis:
            return None
        left = millis
        taken: list[dict[str, Any]] = []
        kept: list[OfferedResource] = []
        for e in self.entries:
            if left > 0 and e.name == name and isinstance(e.value, int):
                part = min(e.value, left)
                left -= part
                taken.append(e.to_json(part))
                if e.value > part:
                    kept.append(replace(e, value=e.value - part))
            else:
                kept.append(e)
        return taken, ResourcePool(tuple(kept))

    def take_ranges(self, name: str, wanted: Ranges) -> Taken | None:
        """Take exactly the integers of ``wanted`` from ranges ``name``; None if any is missing."""
        if not wanted:
            return [], self
        if not self.ranges(name).contains(wanted):
            return None
        taken: list[dict[str, Any]] = []
        kept: list[OfferedResource] = []
        left = wanted
        for e in self.entries:
            if left and e.name == name and isinstance(e.value, Ranges):
                part = e.value - (e.value - left)  # the intersection
                if part:
                    left = left - part
                    taken.append(e.to_json(part))
                    rest = e.value - part
                    if rest:
                        kept.append(replace(e, value=rest))
                    continue
            kept.append(e)
        return taken, ResourcePool(tuple(kept))
