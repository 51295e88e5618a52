"""Who holds what: the allocator's accounting of agents, frameworks, roles and sorters.

The :class:`Ledger` keeps, incrementally, everything an allocation run reads: each agent's
allocations and available resources, the role sorter and one framework sorter per role
(upstream ``roleSorter`` and ``frameworkSorters`` in ``hierarchical.cpp``), and the index of
*candidate* agents (active, with available resources that some minimum in use allows). It
enforces no policy: :class:`~roost.cluster.master.allocator.allocator.Allocator` decides.
"""

from __future__ import annotations

from roost.cluster.master.allocator.min_allocatable import MinAllocatable
from roost.cluster.master.allocator.model import Allocation
from roost.cluster.master.allocator.sorter import ClusterTotals, DrfSorter, quantities
from roost.cluster.master.allocator.state import AgentState, FrameworkState, RoleState
from roost.core.resources import EMPTY, Resources


class Ledger:
    def __init__(self, default_policy: MinAllocatable, excluded: frozenset[str]) -> None:
        self.default_policy = default_policy
        self.excluded = excluded
        # Minimums in use, with how many frameworks use each; the default always counts.
        self.policies: dict[MinAllocatable, int] = {default_policy: 1}
        self.totals = ClusterTotals()
        self.role_sorter = DrfSorter(excluded, self.totals)
        self.roles: dict[str, RoleState] = {}
        self.agents: dict[str, AgentState] = {}
        self.frameworks: dict[str, FrameworkState] = {}
        self.orphans: dict[str, set[str]] = {}  # unknown framework -> agents it uses
        # Insertion-ordered, so that a seeded ``random`` gives reproducible runs.
        self.candidates: dict[str, None] = {}
        self.candidates_stale = False

    # -- agents -------------------------------------------------------------------------------
    def add_agent(self, agent: AgentState, used: dict[str, Resources]) -> None:
        self.agents[agent.id] = agent
        self.totals.add(agent.total_q)
        for framework_id, resources in used.items():
            if resources:
                self.track(agent, framework_id, resources)
        agent.available = agent.total - agent.allocated
        self.refresh(agent)

    def remove_agent(self, agent: AgentState) -> None:
        for framework_id, resources in agent.allocations.items():
            fw = self.frameworks.get(framework_id)
            if fw is None:
                self._discard_orphan(framework_id, agent.id)
            else:
                fw.agents.discard(agent.id)
                self._unsort(fw, resources)
        self.totals.remove(agent.total_q)
        self.candidates.pop(agent.id, None)
        del self.agents[agent.id]

    def set_total(self, agent: AgentState, total: Resources) -> None:
        self.totals.remove(agent.total_q)
        agent.set_total(total)
        self.totals.add(agent.total_q)
        self.refresh(agent)

    # -- frameworks ---------------------------------------------------------------------------
    def add_framework(self, fw: FrameworkState) -> None:
        self.frameworks[fw.id] = fw
        if fw.min_allocatable is not None:
            self._use_policy(fw.min_allocatable, +1)
        role = self.roles.get(fw.role)
        if role is None:
            role = self.roles[fw.role] = RoleState(fw.role, self.excluded, self.totals)
            self.role_sorter.add(fw.role, active=False)
        role.frameworks.add(fw.id)
        role.sorter.add(fw.id, active=False)
        # Resources agents reported in use by this framework before it (re-)subscribed.
        for agent_id in self.orphans.pop(fw.id, ()):
            fw.agents.add(agent_id)
            self._sort(fw, self.agents[agent_id].allocations[fw.id])
        self.sync(fw)

    def remove_framework(self, fw: FrameworkState) -> None:
        """Forget ``fw``; what it held goes back to its agents' available resources."""
        for agent_id in fw.agents:
            agent = self.agents[agent_id]
            agent.allocated = agent.allocated - agent.allocations.pop(fw.id)
            agent.available = agent.total - agent.allocated
            self.refresh(agent)
        fw.suppressed = True
        self.sync(fw)
        role = self.roles[fw.role]
        self.role_sorter.remove_allocation(fw.role, quantities(role.sorter.allocation(fw.id)))
        role.sorter.remove(fw.id)
        role.frameworks.discard(fw.id)
        if not role.frameworks:
            self.role_sorter.remove(fw.role)
            del self.roles[fw.role]
        if fw.min_allocatable is not None:
            self._use_policy(fw.min_allocatable, -1)
        del self.frameworks[fw.id]

    def sync(self, fw: FrameworkState) -> None:
        """Make the sorters' activity match the framework's (and so its role's) state."""
        role = self.roles[fw.role]
        if fw.wants_offers == role.sorter.is_active(fw.id):
            return
        if fw.wants_offers:
            role.sorter.activate(fw.id)
            role.wanting += 1
            if role.wanting == 1:
                self.role_sorter.activate(role.name)
        else:
            role.sorter.deactivate(fw.id)
            role.wanting -= 1
            if role.wanting == 0:
                self.role_sorter.deactivate(role.name)

    # -- allocations --------------------------------------------------------------------------
    def offer(
        self, agent: AgentState, fw: FrameworkState, role: RoleState, offered: Resources
    ) -> Allocation:
        """Allocate all of ``agent.available`` (``offered``) to ``fw``: the run's hot path."""
        framework_id = fw.id
        prev = agent.allocations.get(framework_id)
        agent.allocations[framework_id] = offered if prev is None else prev + offered
        agent.allocated = agent.allocated + offered
        agent.available = EMPTY
        agent.default_ok = False
        del self.candidates[agent.id]
        fw.agents.add(agent.id)
        q = agent.total_q if offered is agent.total else quantities(offered)
        self.role_sorter.add_allocation(role.name, q)
        role.sorter.add_allocation(framework_id, q)
        return Allocation(framework_id, agent.id, role.name, offered)

    def track(self, agent: AgentState, framework_id: str, resources: Resources) -> None:
        """Record an allocation on the agent and, for a known framework, in the sorters."""
        prev = agent.allocations.get(framework_id)
        agent.allocations[framework_id] = resources if prev is None else prev + resources
        agent.allocated = agent.allocated + resources
        fw = self.frameworks.get(framework_id)
        if fw is None:
            self.orphans.setdefault(framework_id, set()).add(agent.id)
        else:
            fw.agents.add(agent.id)
            self._sort(fw, resources)

    def release(self, agent: AgentState, framework_id: str, resources: Resources) -> Resources:
        """Give back what of ``resources`` the framework holds on the agent; returns that part."""
        held = agent.allocations.get(framework_id)
        if held is None or not resources:
            return EMPTY
        if not held.contains(resources):
            resources = held - (held - resources)  # the intersection
            if not resources:
                return EMPTY
        left = held - resources
        fw = self.frameworks.get(framework_id)
        if left:
            agent.allocations[framework_id] = left
        else:
            del agent.allocations[framework_id]
            if fw is None:
                self._discard_orphan(framework_id, agent.id)
            else:
                fw.agents.discard(agent.id)
        agent.allocated = agent.allocated - resources
        agent.available = agent.total - agent.allocated
        self.refresh(agent)
        if fw is not None:
            self._unsort(fw, resources)
        return resources

    def orphaned(self) -> Resources:
        """Scalars held by frameworks the allocator does not know (yet)."""
        out = EMPTY
        for framework_id, agent_ids in self.orphans.items():
            for agent_id in agent_ids:
                held = self.agents[agent_id].allocations[framework_id]
                out = out + Resources(dict(held.scalar_items()))
        return out

    # -- candidates ---------------------------------------------------------------------------
    def refresh(self, agent: AgentState) -> None:
        """Recompute whether the agent is a candidate after its availability changed."""
        available = agent.available
        agent.default_ok = self.default_policy.allows(available)
        if agent.active and (agent.default_ok or any(p.allows(available) for p in self.policies)):
            self.candidates[agent.id] = None
        else:
            self.candidates.pop(agent.id, None)

    def rebuild_candidates(self) -> None:
        self.candidates = {}
        for agent in self.agents.values():
            self.refresh(agent)
        self.candidates_stale = False

    def _use_policy(self, policy: MinAllocatable, delta: int) -> None:
        count = self.policies.get(policy, 0) + delta
        if count > 0:
            self.policies[policy] = count
        else:
            del self.policies[policy]
        if count == 0 or (delta > 0 and count == 1):
            self.candidates_stale = True  # the set of minimums changed: re-index next run

    # -- sorters ------------------------------------------------------------------------------
    def _sort(self, fw: FrameworkState, resources: Resources) -> None:
        q = quantities(resources)
        self.role_sorter.add_allocation(fw.role, q)
        self.roles[fw.role].sorter.add_allocation(fw.id, q)

    def _unsort(self, fw: FrameworkState, resources: Resources) -> None:
        q = quantities(resources)
        self.role_sorter.remove_allocation(fw.role, q)
        self.roles[fw.role].sorter.remove_allocation(fw.id, q)

    def _discard_orphan(self, framework_id: str, agent_id: str) -> None:
        agent_ids = self.orphans.get(framework_id)
        if agent_ids is not None:
            agent_ids.discard(agent_id)
            if not agent_ids:
                del self.orphans[framework_id]
