"""The minimum offer size: ``--min_allocatable_resources`` (default ``cpus:0.01|mem:32``).

Mirrors ``HierarchicalAllocatorProcess::allocatable`` in Mesos ``hierarchical.cpp``: resources
are allocatable when they are non-empty and contain at least one of the listed quantity sets.
An empty list makes anything non-empty allocatable. Quantities compare amounts, not values: a
ranges or set requirement counts members (``ports:[1-10]`` asks for any ten ports).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from roost.core.resources import Resources

Requirement = tuple[tuple[str, int, bool], ...]
"""``(name, amount, is_scalar)``: millis for scalars, a member count for ranges and sets."""


def _requirement(resources: Resources) -> Requirement:
    out: list[tuple[str, int, bool]] = []
    for name, value in resources.items():
        if isinstance(value, int):
            out.append((name, value, True))
        else:
            out.append((name, len(value), False))
    return tuple(sorted(out))


def _amount(resources: Resources, name: str) -> int:
    value = resources.get(name)
    if value is None:
        return 0
    return value if isinstance(value, int) else len(value)


@dataclass(frozen=True, slots=True)
class MinAllocatable:
    """A list of alternative minimum quantity sets; hashable so equal policies can be shared."""

    requirements: tuple[Requirement, ...]

    @classmethod
    def of(cls, sets: Iterable[Resources]) -> MinAllocatable:
        return cls(tuple(_requirement(r) for r in sets))

    def allows(self, resources: Resources) -> bool:
        """True when ``resources`` may be offered (upstream ``allocatable()``)."""
        if not resources:
            return False
        if not self.requirements:
            return True
        for requirement in self.requirements:
            for name, amount, is_scalar in requirement:
                have = resources.millis(name) if is_scalar else _amount(resources, name)
                if have < amount:
                    break
            else:
                return True
        return False


DEFAULT_MIN_ALLOCATABLE = (Resources.parse("cpus:0.01"), Resources.parse("mem:32"))
