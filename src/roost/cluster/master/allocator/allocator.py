"""The hierarchical DRF allocator: a pure object driven by events and an injected clock.

Mirrors Mesos ``src/master/allocator/mesos/hierarchical.cpp`` (``__generateOffers``) without
quota, reservations or revocable resources. One :meth:`Allocator.allocate` run:

1. takes the active agents with something allocatable left, in ``random.shuffle``d order;
2. for each agent, for each role in DRF order, for each framework of the role in DRF order
   (active, not suppressed), skips the framework when the agent's available resources are
   below its minimum, the agent has GPUs and the framework lacks ``GPU_RESOURCES``
   (``--filter_gpu_resources``), or a refused-offer filter matches; otherwise allocates
   **all** of the agent's available resources to it and updates both sorters at once.

Cost is kept off the cluster size: agents with nothing allocatable are not in the candidate
index, so a run over a fully offered cluster is O(1); each allocation moves one framework and
one role in their sorted lists; no event touches all agents times all frameworks.

The caller runs :meth:`Allocator.allocate` every ``allocation_interval`` and, coalesced, when
:meth:`Allocator.needs_run` says an event asked for one (agent added or updated, framework
added or activated, REVIVE). Recovering resources never asks for a run, as upstream.
"""

from __future__ import annotations

import random as _random
from collections.abc import Collection, Iterable, Mapping

from roost.cluster.master.allocator.errors import (
    DuplicateError,
    UnknownAgentError,
    UnknownFrameworkError,
)
from roost.cluster.master.allocator.ledger import Ledger
from roost.cluster.master.allocator.min_allocatable import DEFAULT_MIN_ALLOCATABLE, MinAllocatable
from roost.cluster.master.allocator.model import Allocation, AllocatorSnapshot
from roost.cluster.master.allocator.offer_filter import (
    OfferFilters,
    RefusedOfferFilter,
    refuse_timeout,
)
from roost.cluster.master.allocator.state import AgentState, FrameworkState
from roost.core.clock import Clock
from roost.core.resources import EMPTY, Resources


class Allocator:
    """Hierarchical DRF offers over agents and frameworks; see the module docstring."""

    def __init__(
        self,
        clock: Clock,
        allocation_interval: float = 1.0,
        min_allocatable: Iterable[Resources] = DEFAULT_MIN_ALLOCATABLE,
        fair_sharing_excluded: Iterable[str] = (),
        random: _random.Random | None = None,
        filter_gpu_resources: bool = True,
    ) -> None:
        if not allocation_interval > 0:
            raise ValueError(f"allocation_interval must be positive, not {allocation_interval}")
        self._clock = clock
        self.allocation_interval = allocation_interval
        self._random = random if random is not None else _random.Random()
        self._filter_gpus = filter_gpu_resources
        self._ledger = Ledger(MinAllocatable.of(min_allocatable), frozenset(fair_sharing_excluded))
        self._filters = OfferFilters()
        self._run_requested = False
        self._runs = 0

    # -- runs ---------------------------------------------------------------------------------
    def needs_run(self) -> bool:
        """True when an event since the last run asked for an immediate (coalesced) run."""
        return self._run_requested

    def request_run(self) -> None:
        self._run_requested = True

    def allocate(self) -> list[Allocation]:
        """One allocation run (upstream ``__generateOffers``, stage 2 only: no quota)."""
        self._run_requested = False
        self._runs += 1
        ledger = self._ledger
        if ledger.candidates_stale:
            ledger.rebuild_candidates()
        if not ledger.candidates:
            return []
        candidates = list(ledger.candidates)
        self._random.shuffle(candidates)
        now = self._clock.monotonic()
        agents, frameworks, filters = ledger.agents, ledger.frameworks, self._filters
        offer, filter_gpus = ledger.offer, self._filter_gpus
        # The sorters' lists are updated in place as allocations change (totals cannot change
        # during a run), so fetching them once per run is enough.
        role_order = ledger.role_sorter.ordered()
        framework_orders = {n: (r, r.sorter.ordered()) for n, r in ledger.roles.items()}
        out: list[Allocation] = []
        for agent_id in candidates:
            agent = agents[agent_id]
            available = agent.available
            filtered = filters.has_agent(agent_id)
            gpu_agent = filter_gpus and agent.has_gpus
            for role_name in role_order:
                role, framework_order = framework_orders[role_name]
                for framework_id in framework_order:
                    fw = frameworks[framework_id]
                    policy = fw.min_allocatable
                    if not (agent.default_ok if policy is None else policy.allows(available)):
                        continue
                    if gpu_agent and not fw.gpu_capable:
                        continue
                    if filtered and filters.is_filtered(
                        framework_id, role_name, agent_id, available, now
                    ):
                        continue
                    out.append(offer(agent, fw, role, available))
                    break
                else:
                    continue
                # Everything available went to one framework (no quota shrinks the offer),
                # so nothing remains for the other roles: this agent is done. The sorters'
                # lists changed, so they must not be iterated further anyway.
                break
        return out

    # -- agents -------------------------------------------------------------------------------
    def add_agent(
        self, agent_id: str, total: Resources, used: Mapping[str, Resources] | None = None
    ) -> None:
        """A new agent; ``used`` is what its running tasks hold, per framework (upstream
        ``addSlave``): frameworks not known yet are accounted when they are added."""
        if agent_id in self._ledger.agents:
            raise DuplicateError("agent", agent_id)
        self._ledger.add_agent(AgentState(agent_id, total), dict(used or {}))
        self._run_requested = True

    def remove_agent(self, agent_id: str) -> None:
        """Forget the agent: its allocations leave the sorters, its filters go."""
        self._ledger.remove_agent(self._agent(agent_id))
        self._filters.remove_agent(agent_id)

    def update_agent(self, agent_id: str, total: Resources) -> None:
        """A new total (upstream ``updateSlave``); allocations are kept, even past it."""
        agent = self._agent(agent_id)
        if total != agent.total:
            self._ledger.set_total(agent, total)
            self._run_requested = True

    def activate_agent(self, agent_id: str) -> None:
        agent = self._agent(agent_id)
        agent.active = True
        self._ledger.refresh(agent)

    def deactivate_agent(self, agent_id: str) -> None:
        """Stop offering the agent; its outstanding offers are the caller's to rescind."""
        agent = self._agent(agent_id)
        agent.active = False
        self._ledger.refresh(agent)

    # -- frameworks ---------------------------------------------------------------------------
    def add_framework(
        self,
        framework_id: str,
        role: str = "*",
        *,
        active: bool = True,
        suppressed: bool = False,
        capabilities: Collection[str] = (),
        min_allocatable: Iterable[Resources] | None = None,
    ) -> None:
        """Subscribe a framework to one role; ``min_allocatable`` overrides the global minimum
        for it (upstream ``FrameworkInfo.offer_filters[role].min_allocatable_resources``)."""
        if framework_id in self._ledger.frameworks:
            raise DuplicateError("framework", framework_id)
        if not role:
            raise ValueError("a framework's role must not be empty")
        policy = None if min_allocatable is None else MinAllocatable.of(min_allocatable)
        caps = frozenset((capabilities,) if isinstance(capabilities, str) else capabilities)
        fw = FrameworkState(framework_id, role, caps, policy, active, suppressed)
        self._ledger.add_framework(fw)
        self._run_requested = True

    def remove_framework(self, framework_id: str) -> None:
        """Forget the framework; what it held goes back to its agents, its filters go."""
        self._ledger.remove_framework(self._framework(framework_id))
        self._filters.remove_framework(framework_id)

    def activate_framework(self, framework_id: str) -> None:
        fw = self._framework(framework_id)
        fw.active = True
        self._ledger.sync(fw)
        self._run_requested = True

    def deactivate_framework(self, framework_id: str) -> None:
        """A disconnected framework gets no offers; its filters are cleared, as upstream."""
        fw = self._framework(framework_id)
        fw.active = False
        self._ledger.sync(fw)
        self._filters.remove_framework(framework_id)

    def suppress(self, framework_id: str) -> None:
        """SUPPRESS: no offers until REVIVE; filters are kept."""
        fw = self._framework(framework_id)
        fw.suppressed = True
        self._ledger.sync(fw)

    def revive(self, framework_id: str) -> None:
        """REVIVE: un-suppress, drop all of the framework's filters and ask for a run."""
        fw = self._framework(framework_id)
        fw.suppressed = False
        self._ledger.sync(fw)
        self._filters.remove_framework(framework_id)
        self._run_requested = True

    def set_weight(self, role: str, weight: float) -> None:
        """Role weight (``/weights``, UPDATE_WEIGHTS); a weight-2 role gets twice the share.

        Like upstream this does not trigger a run: the next run uses the new weight.
        """
        self._ledger.role_sorter.set_weight(role, weight)

    # -- resources ----------------------------------------------------------------------------
    def recover(
        self,
        framework_id: str,
        agent_id: str,
        resources: Resources,
        refuse_seconds: float | None = None,
    ) -> None:
        """Resources allocated to the framework come back (decline, the unused part of an
        accept, a rescinded offer, a finished task); upstream ``recoverResources``.

        With ``refuse_seconds`` (pass ``DEFAULT_REFUSE_SECONDS`` for a DECLINE without
        filters) a :class:`RefusedOfferFilter` is installed for exactly these resources.
        Unknown agents and resources the framework does not hold are ignored: upstream races
        between removal and recovery make both legitimate. Never asks for a run.
        """
        agent = self._ledger.agents.get(agent_id)
        if agent is None:
            return
        recovered = self._ledger.release(agent, framework_id, resources)
        fw = self._ledger.frameworks.get(framework_id)
        if not recovered or fw is None or refuse_seconds is None:
            return
        timeout = refuse_timeout(refuse_seconds, self.allocation_interval)
        if timeout > 0:
            now = self._clock.monotonic()
            f = RefusedOfferFilter(framework_id, fw.role, agent_id, recovered, now + timeout)
            self._filters.add(f, now)

    # -- inspection ---------------------------------------------------------------------------
    def available(self, agent_id: str) -> Resources:
        return self._agent(agent_id).available

    def allocation(self, framework_id: str, agent_id: str) -> Resources:
        return self._agent(agent_id).allocations.get(framework_id, EMPTY)

    def filters(self, framework_id: str | None = None) -> list[RefusedOfferFilter]:
        return self._filters.filters(framework_id)

    def role_order(self) -> list[str]:
        """Roles with frameworks wanting offers, in DRF order."""
        return self._ledger.role_sorter.sort()

    def framework_order(self, role: str) -> list[str]:
        """The role's frameworks wanting offers, in DRF order."""
        r = self._ledger.roles.get(role)
        return r.sorter.sort() if r is not None else []

    def snapshot(self) -> AllocatorSnapshot:
        ledger = self._ledger
        by_role = {r: ledger.role_sorter.allocation(r) for r in ledger.roles}
        by_framework = {
            f: ledger.roles[fw.role].sorter.allocation(f) for f, fw in ledger.frameworks.items()
        }
        offered = ledger.orphaned()
        for r in by_role.values():
            offered = offered + r
        return AllocatorSnapshot(
            agents=len(ledger.agents),
            active_agents=sum(1 for a in ledger.agents.values() if a.active),
            frameworks=len(ledger.frameworks),
            active_frameworks=sum(1 for f in ledger.frameworks.values() if f.active),
            offerable_agents=len(ledger.candidates),
            filters=len(self._filters),
            allocation_runs=self._runs,
            total=ledger.totals.as_resources(),
            offered_or_allocated=offered,
            allocated_by_role=by_role,
            allocated_by_framework=by_framework,
        )

    # -- internals ----------------------------------------------------------------------------
    def _agent(self, agent_id: str) -> AgentState:
        agent = self._ledger.agents.get(agent_id)
        if agent is None:
            raise UnknownAgentError(agent_id)
        return agent

    def _framework(self, framework_id: str) -> FrameworkState:
        fw = self._ledger.frameworks.get(framework_id)
        if fw is None:
            raise UnknownFrameworkError(framework_id)
        return fw
