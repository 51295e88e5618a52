"""Random event sequences against a simple model of what the allocator must guarantee.

Safety: every allocation fits in what its agent has left (never double-allocated), goes to an
active, unsuppressed, GPU-compatible framework on an active agent, and is not blocked by a live
refused-offer filter. Liveness: after a run no agent with allocatable resources is left while
some framework could take it. Accounting: available + held == total on every agent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from roost.cluster.master.allocator import (
    DEFAULT_MIN_ALLOCATABLE,
    GPU_RESOURCES,
    Allocator,
    MinAllocatable,
    refuse_timeout,
)
from roost.core.clock import ManualClock
from roost.core.resources import EMPTY, Resources

FRAMEWORKS = ["f1", "f2", "f3", "f4"]
ROLES = ["*", "eng", "ops"]

agent_totals = st.builds(
    lambda cpus, mem, gpus, ports: Resources.parse(
        f"cpus:{cpus};mem:{mem};gpus:{gpus};ports:[{ports}-{ports + 9}]"
    ),
    st.sampled_from([0.005, 1, 2.5, 8]),
    st.sampled_from([16, 32, 1024]),
    st.sampled_from([0, 0, 1]),
    st.sampled_from([1000, 2000]),
)
refuse = st.one_of(st.none(), st.sampled_from([0.0, 0.5, 3.0, 5.0, -1.0, 1e12]))


@dataclass
class ModelFramework:
    role: str
    gpu: bool
    active: bool = True
    suppressed: bool = False
    filters: list[tuple[str, Resources, float]] = field(default_factory=list)


class AllocatorMachine(RuleBasedStateMachine):
    @initialize(seed=st.integers(0, 2**16))
    def start(self, seed: int) -> None:
        self.clock = ManualClock()
        self.alloc = Allocator(self.clock, random=random.Random(seed))
        self.totals: dict[str, Resources] = {}
        self.active_agents: set[str] = set()
        self.frameworks: dict[str, ModelFramework] = {}
        self.held: dict[tuple[str, str], Resources] = {}  # (framework, agent) -> resources
        self.next_agent = 0
        for framework_id, role in (("f1", "*"), ("f2", "eng")):
            self.alloc.add_framework(framework_id, role)
            self.frameworks[framework_id] = ModelFramework(role, gpu=False)
        for _ in range(3):
            self.add_agent(Resources.parse("cpus:4;mem:4096;ports:[1000-1009]"))

    # -- agents -------------------------------------------------------------------------------
    @rule(total=agent_totals)
    def add_agent(self, total: Resources) -> None:
        agent_id = f"a{self.next_agent}"
        self.next_agent += 1
        self.alloc.add_agent(agent_id, total)
        self.totals[agent_id] = total
        self.active_agents.add(agent_id)

    @precondition(lambda self: self.totals)
    @rule(data=st.data())
    def remove_agent(self, data: st.DataObject) -> None:
        agent_id = data.draw(st.sampled_from(sorted(self.totals)))
        self.alloc.remove_agent(agent_id)
        del self.totals[agent_id]
        self.active_agents.discard(agent_id)
        self.held = {k: v for k, v in self.held.items() if k[1] != agent_id}
        for fw in self.frameworks.values():
            fw.filters = [f for f in fw.filters if f[0] != agent_id]

    @precondition(lambda self: self.totals)
    @rule(data=st.data(), extra=st.sampled_from(["cpus:1", "mem:512", "disk:10"]))
    def grow_agent(self, data: st.DataObject, extra: str) -> None:
        agent_id = data.draw(st.sampled_from(sorted(self.totals)))
        self.totals[agent_id] = self.totals[agent_id] + Resources.parse(extra)
        self.alloc.update_agent(agent_id, self.totals[agent_id])

    @precondition(lambda self: self.totals)
    @rule(data=st.data(), active=st.booleans())
    def toggle_agent(self, data: st.DataObject, active: bool) -> None:
        agent_id = data.draw(st.sampled_from(sorted(self.totals)))
        if active:
            self.alloc.activate_agent(agent_id)
            self.active_agents.add(agent_id)
        else:
            self.alloc.deactivate_agent(agent_id)
            self.active_agents.discard(agent_id)

    # -- frameworks ---------------------------------------------------------------------------
    @rule(framework_id=st.sampled_from(FRAMEWORKS), role=st.sampled_from(ROLES), gpu=st.booleans())
    def add_framework(self, framework_id: str, role: str, gpu: bool) -> None:
        if framework_id in self.frameworks:
            return
        caps = {GPU_RESOURCES} if gpu else set()
        self.alloc.add_framework(framework_id, role, capabilities=caps)
        self.frameworks[framework_id] = ModelFramework(role, gpu)

    @precondition(lambda self: self.frameworks)
    @rule(data=st.data())
    def remove_framework(self, data: st.DataObject) -> None:
        framework_id = data.draw(st.sampled_from(sorted(self.frameworks)))
        self.alloc.remove_framework(framework_id)
        del self.frameworks[framework_id]
        self.held = {k: v for k, v in self.held.items() if k[0] != framework_id}

    @precondition(lambda self: self.frameworks)
    @rule(data=st.data(), op=st.sampled_from(["suppress", "revive", "activate", "deactivate"]))
    def change_framework(self, data: st.DataObject, op: str) -> None:
        framework_id = data.draw(st.sampled_from(sorted(self.frameworks)))
        fw = self.frameworks[framework_id]
        if op == "suppress":
            self.alloc.suppress(framework_id)
            fw.suppressed = True
        elif op == "revive":
            self.alloc.revive(framework_id)
            fw.suppressed = False
            fw.filters.clear()
        elif op == "activate":
            self.alloc.activate_framework(framework_id)
            fw.active = True
        else:
            self.alloc.deactivate_framework(framework_id)
            fw.active = False
            fw.filters.clear()

    @rule(role=st.sampled_from(ROLES), weight=st.sampled_from([0.5, 1.0, 3.0]))
    def set_weight(self, role: str, weight: float) -> None:
        self.alloc.set_weight(role, weight)

    # -- resources and time -------------------------------------------------------------------
    @precondition(lambda self: self.held)
    @rule(data=st.data(), part=st.sampled_from(["all", "cpus", "mem", "ports"]), secs=refuse)
    def recover(self, data: st.DataObject, part: str, secs: float | None) -> None:
        self.give_back(data.draw(st.sampled_from(sorted(self.held))), part, secs)

    def give_back(self, key: tuple[str, str], part: str, secs: float | None) -> None:
        framework_id, agent_id = key
        held = self.held[key]
        back = held if part == "all" else held.only([part])
        self.alloc.recover(framework_id, agent_id, back, secs)
        left = held - back
        if left:
            self.held[(framework_id, agent_id)] = left
        else:
            del self.held[(framework_id, agent_id)]
        timeout = refuse_timeout(secs, self.alloc.allocation_interval)
        if back and secs is not None and timeout > 0:
            expires = self.clock.monotonic() + timeout
            self.frameworks[framework_id].filters.append((agent_id, back, expires))

    @rule(seconds=st.sampled_from([0.5, 1.0, 5.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule(data=st.data())
    def allocate(self, data: st.DataObject) -> None:
        """A run, then each offer is kept, declined or partly used, as the scheduler likes."""
        now = self.clock.monotonic()
        for a in self.alloc.allocate():
            fw = self.frameworks[a.framework_id]
            assert fw.active and not fw.suppressed and fw.role == a.role
            assert a.agent_id in self.active_agents
            total = self.totals[a.agent_id]
            assert fw.gpu or total.millis("gpus") == 0
            assert (total - self.in_use(a.agent_id)).contains(a.resources)
            assert not self.filtered(a.framework_id, a.agent_id, a.resources, now)
            key = (a.framework_id, a.agent_id)
            self.held[key] = self.held.get(key, EMPTY) + a.resources
        self.check_nothing_left_behind(now)
        for key in data.draw(
            st.lists(st.sampled_from(sorted(self.held)), max_size=3, unique=True)
            if self.held
            else st.just([])
        ):
            part = data.draw(st.sampled_from(["all", "cpus", "mem", "ports"]))
            self.give_back(key, part, data.draw(refuse))

    # -- checks -------------------------------------------------------------------------------
    def in_use(self, agent_id: str) -> Resources:
        out = EMPTY
        for (_, a), r in self.held.items():
            if a == agent_id:
                out = out + r
        return out

    def filtered(self, framework_id: str, agent_id: str, offer: Resources, now: float) -> bool:
        return any(
            a == agent_id and now < expires and refused.contains(offer)
            for a, refused, expires in self.frameworks[framework_id].filters
        )

    def check_nothing_left_behind(self, now: float) -> None:
        minimum = MinAllocatable.of(DEFAULT_MIN_ALLOCATABLE)
        for agent_id in self.active_agents:
            available = self.alloc.available(agent_id)
            if not minimum.allows(available):
                continue
            gpus = self.totals[agent_id].millis("gpus") > 0
            for framework_id, fw in self.frameworks.items():
                if fw.active and not fw.suppressed and (fw.gpu or not gpus):
                    assert self.filtered(framework_id, agent_id, available, now)

    @invariant()
    def accounting_adds_up(self) -> None:
        if not hasattr(self, "alloc"):
            return
        for agent_id, total in self.totals.items():
            assert self.alloc.available(agent_id) + self.in_use(agent_id) == total
        held = EMPTY
        for r in self.held.values():
            held = held + Resources(dict(r.scalar_items()))
        snapshot = self.alloc.snapshot()
        assert snapshot.offered_or_allocated == held
        assert snapshot.filters == len(self.alloc.filters())
        assert snapshot.agents == len(self.totals)


AllocatorMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
TestAllocatorProperties = AllocatorMachine.TestCase
