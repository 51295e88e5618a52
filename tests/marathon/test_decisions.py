"""Deployment decisions: scaling to a count, and the rolling restart of reference §2.6.

``scale_decision`` and ``restart_decision`` are pure, so they are driven here by hand-built
instances and, for the rolling restart, by a small simulator that plays a whole restart out
round by round and checks Marathon's bounds (``TaskReplaceActor.computeRestartStrategy``) at
every step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pytest

from roost.marathon.appdef import AppDefinition, VersionInfo, parse_app
from roost.marathon.deployment import Decision, restart_decision, scale_decision
from roost.marathon.deployment.decisions import config_version, restart_bounds
from roost.marathon.instances import Instance

OLD = "2024-01-01T00:00:00.000Z"
NEW = "2024-01-02T00:00:00.000Z"
MESOS_CHECK = [{"protocol": "MESOS_TCP"}]
READINESS = [{"name": "ready", "protocol": "HTTP", "path": "/", "portName": "http"}]
HTTP_PORT = [{"port": 0, "name": "http"}]


def make_app(
    instances: int = 1, *, config: str = NEW, strategy: tuple[float, float] = (1, 1), **body: Any
) -> AppDefinition:
    """An app as the API stores it: parsed from Marathon JSON, versioned at ``config``."""
    mhc, moc = strategy
    upgrade = {"minimumHealthCapacity": mhc, "maximumOverCapacity": moc}
    body = {"id": "/app", "cmd": "sleep 100", "upgradeStrategy": upgrade, **body}
    app = parse_app({"instances": instances, **body})
    info = VersionInfo(last_scaling_at=config, last_config_change_at=config)
    return app.model_copy(update={"version": config, "version_info": info})


def make_inst(
    task_id: str,
    *,
    config: str = NEW,
    state: str = "TASK_RUNNING",
    staged_at: float = 0.0,
    healthy: bool | None = None,
    killing: bool = False,
    ready_at: float | None = None,
) -> Instance:
    inst = Instance(task_id, "/app", config, config, "agent-1", "h1", [31000], [10000], staged_at)
    inst.state, inst.killing, inst.healthy = state, killing, healthy
    inst.ready_at_mono = ready_at
    return inst


def running(n: int, *, prefix: str = "t", **kw: Any) -> list[Instance]:
    """``n`` running instances staged one second apart (``t0`` is the oldest)."""
    return [make_inst(f"{prefix}{i}", staged_at=float(i), **kw) for i in range(n)]


# -- scale_decision ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "have", "queued", "launch", "unqueue", "kills"),
    [
        (3, 0, 0, 3, 0, 0),
        (3, 1, 0, 2, 0, 0),
        (3, 1, 1, 1, 0, 0),
        (3, 0, 3, 0, 0, 0),
        (3, 3, 0, 0, 0, 0),
        (1, 0, 3, 0, 2, 0),
        (1, 1, 2, 0, 2, 0),
        (1, 2, 1, 0, 1, 1),
        (1, 4, 0, 0, 0, 3),
        (0, 2, 2, 0, 2, 2),
    ],
)
def test_scale_decision_launches_unqueues_and_kills_to_reach_the_target(
    target: int, have: int, queued: int, launch: int, unqueue: int, kills: int
) -> None:
    d = scale_decision(make_app(target), running(have), queued)
    assert (d.launch, d.unqueue, len(d.kill)) == (launch, unqueue, kills)


def test_scale_decision_target_overrides_the_apps_instances() -> None:
    d = scale_decision(make_app(5), running(1), 0, target=2)
    assert d.launch == 1


def test_scale_decision_does_not_count_instances_already_being_killed() -> None:
    insts = [*running(1), make_inst("dying", killing=True)]
    d = scale_decision(make_app(2), insts, 0)
    assert d.launch == 1
    assert d.kill == []


def test_scale_decision_ignores_terminal_instances() -> None:
    insts = [*running(1), make_inst("gone", state="TASK_FAILED")]
    d = scale_decision(make_app(2), insts, 0)
    assert d.launch == 1


@pytest.mark.parametrize(
    ("body", "killed"),
    [
        ({}, {"t3", "t2"}),
        ({"killSelection": "YOUNGEST_FIRST"}, {"t3", "t2"}),
        ({"killSelection": "OLDEST_FIRST"}, {"t0", "t1"}),
    ],
    ids=["default", "youngest", "oldest"],
)
def test_scale_down_kills_by_kill_selection(body: dict[str, Any], killed: set[str]) -> None:
    d = scale_decision(make_app(2, **body), running(4), 0)
    assert set(d.kill) == killed


@pytest.mark.parametrize("selection", ["YOUNGEST_FIRST", "OLDEST_FIRST"])
@pytest.mark.parametrize("state", ["TASK_STAGING", "TASK_STARTING"])
def test_scale_down_kills_instances_that_are_not_running_first(selection: str, state: str) -> None:
    # the not-running instance is the oldest, so YOUNGEST_FIRST alone would spare it
    insts = [make_inst("early", state=state, staged_at=-5.0), *running(2)]
    d = scale_decision(make_app(2, killSelection=selection), insts, 0)
    assert d.kill == ["early"]


def test_scale_decision_is_done_when_every_instance_runs() -> None:
    assert scale_decision(make_app(2), running(2), 0).done


@pytest.mark.parametrize(
    ("insts", "queued"),
    [
        (running(1), 0),
        (running(1), 1),
        (running(3), 0),
        ([*running(1), make_inst("s", state="TASK_STAGING")], 0),
        ([*running(2), make_inst("dying", killing=True)], 0),
    ],
    ids=["missing", "queued", "too-many", "staging", "still-killing"],
)
def test_scale_decision_is_not_done_while_anything_is_pending(
    insts: list[Instance], queued: int
) -> None:
    assert not scale_decision(make_app(2), insts, queued).done


def test_scale_decision_is_done_after_a_killed_instance_is_gone() -> None:
    dead = make_inst("dead", state="TASK_KILLED", killing=True)
    assert scale_decision(make_app(2), [*running(2), dead], 0).done


@pytest.mark.parametrize(
    ("healthy", "done"), [([True, True], True), ([True, None], False), ([True, False], False)]
)
def test_scale_decision_with_health_checks_waits_for_every_instance_to_be_healthy(
    healthy: list[bool | None], done: bool
) -> None:
    insts = [make_inst(f"t{i}", healthy=h) for i, h in enumerate(healthy)]
    assert scale_decision(make_app(2, healthChecks=MESOS_CHECK), insts, 0).done is done


@pytest.mark.parametrize(("ready_at", "done"), [(None, False), (5.0, True)])
def test_scale_decision_with_a_readiness_check_waits_for_readiness(
    ready_at: float | None, done: bool
) -> None:
    app = make_app(1, portDefinitions=HTTP_PORT, readinessChecks=READINESS)
    d = scale_decision(app, [make_inst("t0", ready_at=ready_at)], 0)
    assert d.done is done


# -- restart_bounds ---------------------------------------------------------------------------

STRATEGIES = [(1.0, 1.0), (1.0, 0.0), (0.0, 0.0), (0.5, 0.0), (0.5, 0.5)]
SIZES = [1, 3, 4, 10]

# (minimumHealthCapacity, maximumOverCapacity) -> n -> (minHealthy, maxCapacity), computed by
# hand from reference §2.6 with ``running == n``: ceil(n*mhc), floor(n*(1+moc)), +1 when equal.
BOUNDS = {
    (1.0, 1.0): {1: (1, 2), 3: (3, 6), 4: (4, 8), 10: (10, 20)},
    (1.0, 0.0): {1: (1, 2), 3: (3, 4), 4: (4, 5), 10: (10, 11)},
    (0.0, 0.0): {1: (0, 1), 3: (0, 3), 4: (0, 4), 10: (0, 10)},
    (0.5, 0.0): {1: (1, 2), 3: (2, 3), 4: (2, 4), 10: (5, 10)},
    (0.5, 0.5): {1: (1, 2), 3: (2, 4), 4: (2, 6), 10: (5, 15)},
}


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("n", SIZES)
def test_restart_bounds_follow_compute_restart_strategy(
    strategy: tuple[float, float], n: int
) -> None:
    assert restart_bounds(make_app(n, strategy=strategy), n) == BOUNDS[strategy][n]


def test_restart_bounds_allow_one_extra_only_when_enough_instances_run() -> None:
    app = make_app(3, strategy=(1.0, 0.0))
    assert restart_bounds(app, 3) == (3, 4)
    assert restart_bounds(app, 2) == (3, 3)


# -- restart_decision, one round --------------------------------------------------------------


def old(n: int, **kw: Any) -> list[Instance]:
    return running(n, prefix="old", config=OLD, healthy=True, **kw)


@pytest.mark.parametrize(
    ("strategy", "n", "launch", "kills"),
    [
        ((1.0, 1.0), 3, 3, 0),
        ((1.0, 0.0), 3, 1, 0),
        ((0.0, 0.0), 3, 3, 3),
        ((0.5, 0.0), 4, 2, 2),
        ((0.5, 0.5), 4, 4, 2),
    ],
)
def test_first_restart_round_kills_down_to_min_healthy_and_launches_up_to_max_capacity(
    strategy: tuple[float, float], n: int, launch: int, kills: int
) -> None:
    app = make_app(n, strategy=strategy, healthChecks=MESOS_CHECK)
    d = restart_decision(app, old(n), 0)
    assert (d.launch, len(d.kill), d.done) == (launch, kills, False)


def test_restart_kills_unhealthy_old_instances_even_at_the_health_floor() -> None:
    app = make_app(2, healthChecks=MESOS_CHECK)
    insts = [*old(1), make_inst("sick", config=OLD, healthy=False, staged_at=-1.0)]
    d = restart_decision(app, insts, 0)
    assert d.kill == ["sick"]
    assert d.launch == 2


def test_restart_does_not_count_a_healthy_new_instance_until_it_is_ready() -> None:
    app = make_app(
        1, healthChecks=MESOS_CHECK, portDefinitions=HTTP_PORT, readinessChecks=READINESS
    )
    fresh = make_inst("new", healthy=True, staged_at=9.0)
    assert restart_decision(app, [*old(1), fresh], 0).kill == []
    fresh.ready_at_mono = 10.0
    assert restart_decision(app, [*old(1), fresh], 0).kill == ["old0"]


def test_restart_kills_surplus_new_instances_after_a_forced_deployment() -> None:
    app = make_app(2, healthChecks=MESOS_CHECK)
    d = restart_decision(app, running(3, healthy=True), 0)
    assert d.kill == ["t2"]
    assert not d.done


def test_restart_drops_surplus_queued_launches_first() -> None:
    app = make_app(2, healthChecks=MESOS_CHECK)
    d = restart_decision(app, running(2, healthy=True), 1)
    assert (d.unqueue, d.kill) == (1, [])


def test_restart_is_done_when_only_ready_new_instances_remain() -> None:
    app = make_app(2, healthChecks=MESOS_CHECK)
    assert restart_decision(app, running(2, healthy=True), 0).done


def test_restart_is_not_done_while_an_old_instance_is_still_dying() -> None:
    app = make_app(2, healthChecks=MESOS_CHECK)
    dying = make_inst("dying-old", config=OLD, healthy=True, killing=True)
    d = restart_decision(app, [*running(2, healthy=True), dying], 0)
    assert (d.kill, d.launch, d.done) == ([], 0, False)


def test_restart_is_not_done_while_a_new_instance_is_unhealthy() -> None:
    app = make_app(2, healthChecks=MESOS_CHECK)
    insts = [make_inst("t0", healthy=True), make_inst("t1", healthy=None)]
    assert not restart_decision(app, insts, 0).done


def test_restart_compares_instances_with_last_config_change_not_version() -> None:
    app = make_app(1, healthChecks=MESOS_CHECK)
    scaled = app.model_copy(update={"version": "2024-01-03T00:00:00.000Z"})
    assert config_version(scaled) == NEW
    assert restart_decision(scaled, running(1, healthy=True), 0).done


# -- a whole rolling restart, simulated ------------------------------------------------------


@dataclass
class RollingRestart:
    """Plays a restart out: each round applies one decision; queued launches become running
    but unhealthy new instances; then one unhealthy new instance becomes healthy. Kills take
    effect at once. Every observable state is checked against the strategy's bounds."""

    app: AppDefinition
    instances: list[Instance]
    min_healthy: int
    max_capacity: int
    queued: int = 0
    floor_reached: bool = False
    history: list[tuple[int, int]] = field(default_factory=list)
    """(healthy, total) at every checked state."""
    _seq: int = 0

    def healthy(self) -> int:
        checked = bool(self.app.health_checks)
        return sum(1 for i in self.instances if i.is_healthy(checked))

    def check(self) -> None:
        healthy, total = self.healthy(), len(self.instances) + self.queued
        self.history.append((healthy, total))
        if healthy >= self.min_healthy:
            self.floor_reached = True
        elif self.floor_reached:
            raise AssertionError(f"healthy {healthy} < {self.min_healthy}: {self.history}")
        assert total <= self.max_capacity, f"total {total} > {self.max_capacity}"

    def apply(self, d: Decision) -> None:
        self.instances = [i for i in self.instances if i.task_id not in d.kill]
        self.queued += d.launch - d.unqueue
        assert self.queued >= 0
        self.check()
        for _ in range(self.queued):
            self._seq += 1
            self.instances.append(make_inst(f"new{self._seq}", staged_at=100.0 + self._seq))
        self.queued = 0
        self.check()
        waiting = [i for i in self.instances if i.healthy is None]
        if waiting:
            waiting[0].healthy = True
            self.check()

    def run(self, max_rounds: int) -> int:
        self.check()
        for rounds in range(1, max_rounds + 1):
            d = restart_decision(self.app, self.instances, self.queued)
            if d.done:
                return rounds
            assert d.launch or d.kill or d.unqueue or self._pending(), "restart is stuck"
            self.apply(d)
        raise AssertionError(f"restart not done in {max_rounds} rounds: {self.history}")

    def _pending(self) -> bool:
        return any(i.healthy is None for i in self.instances)


def expected_bounds(n: int, strategy: tuple[float, float]) -> tuple[int, int]:
    min_healthy = math.ceil(n * strategy[0])
    max_capacity = math.floor(n * (1 + strategy[1]))
    return min_healthy, max_capacity + (1 if min_healthy == max_capacity else 0)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("n", SIZES)
def test_rolling_restart_keeps_the_health_floor_and_capacity_and_replaces_everything(
    strategy: tuple[float, float], n: int
) -> None:
    app = make_app(n, strategy=strategy, healthChecks=MESOS_CHECK)
    min_healthy, max_capacity = expected_bounds(n, strategy)
    sim = RollingRestart(app, old(n), min_healthy, max_capacity)
    sim.run(max_rounds=4 * n + 10)
    assert len(sim.instances) == n
    assert all(i.config_version == NEW for i in sim.instances)
    assert sim.healthy() == n
    assert min(h for h, _ in sim.history) >= min_healthy
    assert max(t for _, t in sim.history) <= max_capacity


@pytest.mark.parametrize(
    ("strategy", "n", "peak"),
    [((1.0, 1.0), 4, 8), ((0.0, 0.0), 4, 4), ((1.0, 0.0), 4, 5), ((0.5, 0.0), 4, 4)],
)
def test_rolling_restart_uses_the_room_it_is_given(
    strategy: tuple[float, float], n: int, peak: int
) -> None:
    """``{1,1}`` starts all new instances beside the old; ``{0,0}`` kills everything first."""
    app = make_app(n, strategy=strategy, healthChecks=MESOS_CHECK)
    sim = RollingRestart(app, old(n), *expected_bounds(n, strategy))
    sim.run(max_rounds=4 * n + 10)
    assert max(t for _, t in sim.history) == peak
    if strategy == (0.0, 0.0):
        assert min(h for h, _ in sim.history) == 0


def test_rolling_restart_of_instances_without_health_checks_finishes() -> None:
    app = make_app(3)
    sim = RollingRestart(app, running(3, prefix="old", config=OLD), 3, 6)
    sim.run(max_rounds=10)
    assert sorted(i.config_version for i in sim.instances) == [NEW] * 3
