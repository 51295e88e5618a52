"""Refused-offer filters: what a DECLINE with ``Filters.refuse_seconds`` leaves behind.

Mirrors ``RefusedOfferFilter``, ``recoverResources`` and ``isFiltered`` in Mesos
``src/master/allocator/mesos/hierarchical.cpp``:

* a filter is keyed by (framework, role, agent) and holds the refused resources;
* it applies while unexpired and the refused resources *contain* the new offer, so a larger
  offer (more was freed on the agent) gets through;
* several filters may exist for one key; any of them can filter;
* REVIVE and deactivating the framework clear all of the framework's filters.

Upstream expires filters with timers; here expired filters are dropped lazily when looked at,
and when their framework or agent goes away.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from roost.core.resources import Resources

DEFAULT_REFUSE_SECONDS = 5.0
"""``Filters.refuse_seconds`` default in ``mesos.proto``; also used for invalid values."""

MAX_REFUSE_SECONDS = 365 * 24 * 3600.0
"""Longer durations are capped to 365 days, as upstream does."""


def refuse_timeout(refuse_seconds: object, allocation_interval: float) -> float:
    """How long a filter for ``refuse_seconds`` lasts; ``0.0`` means install no filter.

    Negative, NaN or non-numeric values use the 5 s default, values past 365 days are capped,
    and a filter never expires before the next allocation run
    (``max(allocation_interval, timeout)``, MESOS-4302).
    """
    try:
        seconds = float(refuse_seconds)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        seconds = DEFAULT_REFUSE_SECONDS
    if math.isnan(seconds) or seconds < 0:
        seconds = DEFAULT_REFUSE_SECONDS
    elif seconds > MAX_REFUSE_SECONDS:
        seconds = MAX_REFUSE_SECONDS
    if seconds == 0:
        return 0.0
    return max(allocation_interval, seconds)


@dataclass(frozen=True, slots=True)
class RefusedOfferFilter:
    """Resources a framework refused on one agent, until ``expires_at`` (monotonic seconds)."""

    framework_id: str
    role: str
    agent_id: str
    resources: Resources
    expires_at: float

    def matches(self, offered: Resources) -> bool:
        """True when this filter applies to ``offered``: the refused set contains it."""
        return self.resources.contains(offered)

    def is_expired(self, now: float) -> bool:
        return now >= self.expires_at


class OfferFilters:
    """Every live filter, indexed by agent (for allocation runs) and by framework (for REVIVE).

    No operation scans all filters: a run looks up one agent's filters, REVIVE and framework
    removal touch that framework's filters, agent removal that agent's.
    """

    def __init__(self) -> None:
        self._by_agent: dict[str, dict[tuple[str, str], list[RefusedOfferFilter]]] = {}
        self._by_framework: dict[str, set[tuple[str, str]]] = {}  # framework -> {(role, agent)}
        self._count = 0

    def add(self, f: RefusedOfferFilter, now: float | None = None) -> None:
        """Install ``f``; with ``now``, expired filters for the same key are dropped first."""
        key = (f.framework_id, f.role)
        per_agent = self._by_agent.setdefault(f.agent_id, {})
        found = per_agent.setdefault(key, [])
        if now is not None and found:
            live = [g for g in found if g.expires_at > now]
            self._count -= len(found) - len(live)
            found[:] = live
        found.append(f)
        self._count += 1
        self._by_framework.setdefault(f.framework_id, set()).add((f.role, f.agent_id))

    def has_agent(self, agent_id: str) -> bool:
        """Cheap pre-check for allocation runs: does any filter mention this agent?"""
        return agent_id in self._by_agent

    def is_filtered(
        self, framework_id: str, role: str, agent_id: str, offered: Resources, now: float
    ) -> bool:
        """Upstream ``isFiltered``: an unexpired filter for the key matches ``offered``."""
        per_agent = self._by_agent.get(agent_id)
        if not per_agent:
            return False
        key = (framework_id, role)
        found = per_agent.get(key)
        if found is None:
            return False
        if len(found) == 1 and found[0].expires_at > now:  # the common case, without copies
            return found[0].resources.contains(offered)
        live = [f for f in found if f.expires_at > now]
        if len(live) < len(found):
            self._count -= len(found) - len(live)
            if live:
                per_agent[key] = live
            else:
                self._drop(framework_id, role, agent_id)
        return any(f.resources.contains(offered) for f in live)

    def filters(self, framework_id: str | None = None) -> list[RefusedOfferFilter]:
        """Installed filters (including expired ones not yet dropped), for tests and state."""
        if framework_id is None:
            return [f for p in self._by_agent.values() for found in p.values() for f in found]
        return [
            f
            for role, agent_id in self._by_framework.get(framework_id, ())
            for f in self._by_agent[agent_id][(framework_id, role)]
        ]

    def __len__(self) -> int:
        return self._count

    def remove_framework(self, framework_id: str) -> None:
        """Drop all of a framework's filters (REVIVE, deactivation, removal)."""
        for role, agent_id in self._by_framework.pop(framework_id, ()):
            per_agent = self._by_agent[agent_id]
            self._count -= len(per_agent.pop((framework_id, role)))
            if not per_agent:
                del self._by_agent[agent_id]

    def remove_agent(self, agent_id: str) -> None:
        for (framework_id, role), found in self._by_agent.pop(agent_id, {}).items():
            self._count -= len(found)
            keys = self._by_framework[framework_id]
            keys.discard((role, agent_id))
            if not keys:
                del self._by_framework[framework_id]

    def _drop(self, framework_id: str, role: str, agent_id: str) -> None:
        per_agent = self._by_agent[agent_id]
        del per_agent[(framework_id, role)]
        if not per_agent:
            del self._by_agent[agent_id]
        keys = self._by_framework[framework_id]
        keys.discard((role, agent_id))
        if not keys:
            del self._by_framework[framework_id]
