"""Values the allocator hands out: allocation decisions and a metrics snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from roost.core.resources import SCALE, Resources


@dataclass(frozen=True, slots=True)
class Allocation:
    """One decision of a run: ``resources`` of ``agent_id`` go to ``framework_id`` as ``role``.

    The master turns each into one offer (upstream: one ``Offer`` per agent and role, one
    OFFERS event per framework per run). The resources stay allocated until recovered.
    """

    framework_id: str
    agent_id: str
    role: str
    resources: Resources


@dataclass(frozen=True, slots=True)
class AllocatorSnapshot:
    """Counts and scalar totals for ``/metrics/snapshot`` and the state endpoints.

    ``offered_or_allocated`` includes resources that agents reported in use by frameworks the
    allocator does not know yet; the per-role and per-framework maps do not.
    """

    agents: int
    active_agents: int
    frameworks: int
    active_frameworks: int
    offerable_agents: int
    filters: int
    allocation_runs: int
    total: Resources
    offered_or_allocated: Resources
    allocated_by_role: Mapping[str, Resources]
    allocated_by_framework: Mapping[str, Resources]

    def metrics(self) -> dict[str, float]:
        """Upstream metric names (``allocator/mesos/resources/<r>/total`` and friends)."""
        out: dict[str, float] = {"allocator/mesos/allocation_runs": float(self.allocation_runs)}
        names = sorted({*self.total.names(), *self.offered_or_allocated.names()})
        for name in names:
            out[f"allocator/mesos/resources/{name}/total"] = self.total.millis(name) / SCALE
            out[f"allocator/mesos/resources/{name}/offered_or_allocated"] = (
                self.offered_or_allocated.millis(name) / SCALE
            )
        return out
