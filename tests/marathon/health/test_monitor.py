"""HealthMonitor: probe loops driven by an injected sleep and a ManualClock, Mesos updates,
and the on_change / on_kill callbacks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from roost.core.clock import ManualClock
from roost.marathon.health import HealthMonitor
from tests.marathon.health import make_app, make_check

TASK = "web.instance-a1._app.1"
OTHER = "web.instance-b2._app.1"


async def until(condition: Callable[[], bool], what: str) -> None:
    """Yield to the loop until ``condition`` holds; no wall-clock waiting."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never happened: {what}")


@dataclass
class ScriptedProber:
    """Answers probes from a script per port (last answer repeats); records every call."""

    clock: ManualClock
    script: dict[int | None, list[str | None]] = field(default_factory=dict)
    calls: list[tuple[str, str, int | None, float]] = field(default_factory=list)
    takes: float = 0.0  # clock seconds each probe "lasts"

    async def __call__(
        self, check: Any, host: str, port: int | None, *, timeout: float
    ) -> str | None:
        self.calls.append((check.protocol, host, port, timeout))
        self.clock.advance(self.takes)
        answers = self.script.get(port, [None])
        if isinstance(answers[0], Exception):
            raise answers[0]
        return answers.pop(0) if len(answers) > 1 else answers[0]


@dataclass
class SteppedSleep:
    """The monitor's sleep: parks each loop until the test calls :meth:`tick`."""

    clock: ManualClock
    requested: list[float] = field(default_factory=list)
    parked: list[asyncio.Future[None]] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.requested.append(seconds)
        future = asyncio.get_running_loop().create_future()
        self.parked.append(future)
        await future

    async def sleeping(self, count: int) -> None:
        await until(lambda: len(self.parked) >= count, f"{count} loop(s) asleep")

    async def tick(self, seconds: float, loops: int = 1) -> None:
        """Advance the clock, wake every parked loop and wait until ``loops`` sleep again."""
        self.clock.advance(seconds)
        woken, self.parked = self.parked, []
        for future in woken:
            if not future.done():
                future.set_result(None)
        await self.sleeping(loops)


@dataclass
class Harness:
    clock: ManualClock
    prober: ScriptedProber
    sleep: SteppedSleep
    monitor: HealthMonitor
    changes: list[tuple[str, bool]]
    kills: list[tuple[str, str]]
    after_kill: list[Callable[[str], Awaitable[None]]]  # what the orchestrator does next


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    clock = ManualClock()
    changes: list[tuple[str, bool]] = []
    kills: list[tuple[str, str]] = []
    after_kill: list[Callable[[str], Awaitable[None]]] = []

    async def on_change(task_id: str, alive: bool) -> None:
        changes.append((task_id, alive))

    async def on_kill(task_id: str, reason: str) -> None:
        kills.append((task_id, reason))
        for hook in after_kill:
            await hook(task_id)

    prober = ScriptedProber(clock)
    sleep = SteppedSleep(clock)
    monitor = HealthMonitor(
        clock=clock, on_change=on_change, on_kill=on_kill, prober=prober, sleep=sleep
    )
    yield Harness(clock, prober, sleep, monitor, changes, kills, after_kill)
    await monitor.aclose()


def http(**fields: Any) -> Any:
    return make_check(protocol="HTTP", path="/health", **fields)


async def test_first_probe_runs_at_once_on_the_indexed_host_port_then_every_interval(
    h: Harness,
) -> None:
    app = make_app(http(port_index=1, interval_seconds=10, timeout_seconds=3))
    h.monitor.track(TASK, "web.instance-a1", app, "10.0.0.5", [31000, 31001])
    await h.sleep.sleeping(1)
    assert h.prober.calls == [("HTTP", "10.0.0.5", 31001, 3.0)]
    assert h.sleep.requested == [10.0]
    await h.sleep.tick(10)
    await h.sleep.tick(10)
    assert len(h.prober.calls) == 3


async def test_interval_counts_from_the_start_of_a_probe(h: Harness) -> None:
    h.prober.takes = 4
    h.monitor.track(TASK, "i", make_app(http(port_index=0, interval_seconds=10)), "h", [31000])
    await h.sleep.sleeping(1)
    assert h.sleep.requested == [6.0]


async def test_port_wins_over_port_index(h: Harness) -> None:
    h.monitor.track(TASK, "i", make_app(http(port=8080, port_index=0)), "h", [31000])
    await h.sleep.sleeping(1)
    assert h.prober.calls[0][2] == 8080


async def test_port_index_outside_the_task_ports_probes_without_a_port(h: Harness) -> None:
    h.monitor.track(TASK, "i", make_app(http(port_index=3)), "h", [31000])
    await h.sleep.sleeping(1)
    assert h.prober.calls[0][2] is None


async def test_first_success_fires_on_change_true_and_fills_the_results(h: Harness) -> None:
    h.monitor.track(TASK, "web.instance-a1", make_app(http(port_index=0)), "h", [31000])
    await h.sleep.sleeping(1)
    await until(lambda: h.changes == [(TASK, True)], "on_change(True)")
    assert h.monitor.healthy(TASK) is True
    [entry] = h.monitor.results(TASK)
    assert entry["alive"] is True
    assert entry["firstSuccess"] == "2023-11-14T22:13:20.000Z"  # ManualClock's wall time
    assert (entry["taskId"], entry["instanceId"]) == (TASK, "web.instance-a1")


async def test_failing_checks_flip_health_then_kill_once(h: Harness) -> None:
    h.prober.script[31000] = [None, "HTTP 500", "HTTP 500", "HTTP 503", "HTTP 503"]
    check = http(port_index=0, interval_seconds=10, max_consecutive_failures=2)
    h.monitor.track(TASK, "i", make_app(check), "h", [31000])
    await h.sleep.sleeping(1)
    await h.sleep.tick(10)  # first failure: unhealthy, not killed
    await until(lambda: h.changes == [(TASK, True), (TASK, False)], "on_change(False)")
    await h.sleep.tick(10)  # second failure: the limit is reached, still alive
    assert h.kills == []
    await h.sleep.tick(10)  # third failure: more than maxConsecutiveFailures → kill
    await until(lambda: h.kills == [(TASK, "HTTP 503")], "on_kill")
    await h.sleep.tick(10)
    await h.sleep.tick(10)
    assert h.kills == [(TASK, "HTTP 503")]
    assert h.monitor.results(TASK)[0]["consecutiveFailures"] == 5
    assert h.monitor.healthy(TASK) is False


async def test_failures_inside_the_grace_period_change_nothing(h: Harness) -> None:
    h.prober.script[31000] = ["ConnectionRefused"]
    check = http(
        port_index=0, interval_seconds=100, grace_period_seconds=300, max_consecutive_failures=1
    )
    h.monitor.track(TASK, "i", make_app(check), "h", [31000])
    await h.sleep.sleeping(1)
    await h.sleep.tick(100)
    await h.sleep.tick(100)  # t=200: three failures ignored
    assert h.monitor.results(TASK)[0]["consecutiveFailures"] == 0
    await h.sleep.tick(100)  # t=300: counted
    await h.sleep.tick(100)  # t=400: counted, more than one → kill
    await until(lambda: h.kills == [(TASK, "ConnectionRefused")], "on_kill after grace")
    assert h.changes == [(TASK, False)]  # unhealthy from the first counted failure


async def test_max_consecutive_failures_zero_never_kills(h: Harness) -> None:
    h.prober.script[31000] = ["HTTP 500"]
    check = http(
        port_index=0, interval_seconds=1, grace_period_seconds=0, max_consecutive_failures=0
    )
    h.monitor.track(TASK, "i", make_app(check), "h", [31000])
    await h.sleep.sleeping(1)
    for _ in range(20):
        await h.sleep.tick(1)
    assert h.monitor.results(TASK)[0]["consecutiveFailures"] == 21
    assert h.kills == []


async def test_task_is_healthy_only_when_every_check_is_alive(h: Harness) -> None:
    h.prober.script = {31000: [None], 31001: ["HTTP 500", None]}
    app = make_app(
        http(port_index=0, interval_seconds=5),
        make_check(protocol="TCP", port_index=1, interval_seconds=5, grace_period_seconds=0),
    )
    h.monitor.track(TASK, "i", app, "h", [31000, 31001])
    await h.sleep.sleeping(2)
    assert h.monitor.healthy(TASK) is False
    await until(lambda: h.changes == [(TASK, False)], "unhealthy: the TCP check failed")
    await h.sleep.tick(5, loops=2)
    await until(lambda: h.changes == [(TASK, False), (TASK, True)], "both alive")
    assert [r["alive"] for r in h.monitor.results(TASK)] == [True, True]


async def test_untrack_stops_probing_and_forgets_the_task(h: Harness) -> None:
    h.monitor.track(TASK, "i", make_app(http(port_index=0)), "h", [31000])
    await h.sleep.sleeping(1)
    h.monitor.untrack(TASK)
    await until(lambda: h.sleep.parked[0].cancelled(), "loop cancelled")
    assert len(h.prober.calls) == 1
    assert (h.monitor.results(TASK), h.monitor.healthy(TASK)) == ([], None)


async def test_track_twice_keeps_one_loop(h: Harness) -> None:
    app = make_app(http(port_index=0))
    h.monitor.track(TASK, "i", app, "h", [31000])
    h.monitor.track(TASK, "i", app, "h", [31000])
    await h.sleep.sleeping(1)
    for _ in range(10):
        await asyncio.sleep(0)
    assert len(h.prober.calls) == 1


async def test_app_without_checks_has_no_health(h: Harness) -> None:
    h.monitor.track(TASK, "i", make_app(), "h", [31000])
    assert (h.monitor.healthy(TASK), h.monitor.results(TASK)) == (None, [])
    assert h.monitor.healthy("never-seen") is None


async def test_a_broken_prober_counts_as_a_failure_and_the_loop_goes_on(h: Harness) -> None:
    h.prober.script[31000] = [RuntimeError("boom")]  # type: ignore[list-item]
    check = http(port_index=0, interval_seconds=1, grace_period_seconds=0)
    h.monitor.track(TASK, "i", make_app(check), "h", [31000])
    await h.sleep.sleeping(1)
    await h.sleep.tick(1)
    [entry] = h.monitor.results(TASK)
    assert (entry["consecutiveFailures"], entry["lastFailureCause"]) == (2, "RuntimeError: boom")


async def test_a_callback_may_untrack_the_task_it_is_told_about(h: Harness) -> None:
    finished: list[str] = []

    async def forget(task_id: str) -> None:
        h.monitor.untrack(task_id)
        await asyncio.sleep(0)  # the callback keeps running after the loop is cancelled
        finished.append(task_id)

    h.after_kill.append(forget)
    h.prober.script[31000] = ["HTTP 500"]
    check = http(port_index=0, grace_period_seconds=0, max_consecutive_failures=1)
    h.monitor.track(TASK, "i", make_app(check), "h", [31000])
    await h.sleep.sleeping(1)
    await h.sleep.tick(60)
    await until(lambda: finished == [TASK], "callback finished")
    assert h.kills == [(TASK, "HTTP 500")]
    assert h.monitor.results(TASK) == []
    assert h.sleep.parked[-1].cancelled()


MESOS_HTTP = {"protocol": "MESOS_HTTP", "path": "/health", "port_index": 0}


async def test_mesos_level_checks_are_not_probed_but_fed_by_status_updates(h: Harness) -> None:
    app = make_app(make_check(**MESOS_HTTP))
    h.monitor.track(TASK, "i", app, "h", [31000])
    assert (h.monitor.healthy(TASK), len(h.monitor.results(TASK))) == (False, 1)
    h.monitor.mesos_update(TASK, app, True)
    await until(lambda: h.changes == [(TASK, True)], "mesos healthy")
    h.monitor.mesos_update(TASK, app, False, message="HTTP 500 from the agent")
    await until(lambda: h.changes[-1] == (TASK, False), "mesos unhealthy")
    assert h.monitor.results(TASK)[0]["lastFailureCause"] == "HTTP 500 from the agent"
    assert h.prober.calls == []


async def test_status_update_without_health_changes_nothing(h: Harness) -> None:
    app = make_app(make_check(**MESOS_HTTP))
    h.monitor.track(TASK, "i", app, "h", [31000])
    h.monitor.mesos_update(TASK, app, None)
    assert h.monitor.results(TASK)[0]["lastSuccess"] is None
    assert h.monitor.results(TASK)[0]["lastFailure"] is None


async def test_mesos_failures_kill_past_the_limit_after_the_grace_period(h: Harness) -> None:
    app = make_app(make_check(**MESOS_HTTP, grace_period_seconds=30, max_consecutive_failures=1))
    h.monitor.mesos_update(OTHER, app, False)  # not tracked yet: results come from the app
    assert h.monitor.results(OTHER)[0]["consecutiveFailures"] == 0  # grace period
    h.clock.advance(30)
    h.monitor.mesos_update(OTHER, app, False)
    h.monitor.mesos_update(OTHER, app, False)
    await until(lambda: h.kills == [(OTHER, "Mesos health check failed")], "mesos kill")
    assert h.monitor.results(OTHER)[0]["instanceId"] == "web.instance-b2"


async def test_track_after_a_status_update_keeps_the_results_and_sets_the_instance(
    h: Harness,
) -> None:
    app = make_app(make_check(**MESOS_HTTP), http(port_index=0))
    h.monitor.mesos_update(OTHER, app, True)
    h.monitor.track(OTHER, "the-instance", app, "h", [31000])
    await h.sleep.sleeping(1)
    entries = h.monitor.results(OTHER)
    assert [e["alive"] for e in entries] == [True, True]
    assert {e["instanceId"] for e in entries} == {"the-instance"}
    await until(lambda: h.changes == [(OTHER, True)], "healthy once both checks passed")


async def test_late_status_update_of_an_untracked_task_is_ignored(h: Harness) -> None:
    app = make_app(make_check(**MESOS_HTTP))
    h.monitor.track(TASK, "i", app, "h", [31000])
    h.monitor.untrack(TASK)
    h.monitor.mesos_update(TASK, app, True)
    assert h.monitor.results(TASK) == []


async def test_mixed_app_needs_both_marathon_and_mesos_checks_alive(h: Harness) -> None:
    app = make_app(http(port_index=0), make_check(protocol="COMMAND", command={"value": "true"}))
    h.monitor.track(TASK, "i", app, "h", [31000])
    await h.sleep.sleeping(1)
    assert [c[0] for c in h.prober.calls] == ["HTTP"]
    assert h.monitor.healthy(TASK) is False
    h.monitor.mesos_update(TASK, app, True)
    await until(lambda: h.changes == [(TASK, True)], "both alive")


async def test_aclose_stops_loops_and_delivers_queued_callbacks(h: Harness) -> None:
    h.monitor.track(TASK, "i", make_app(http(port_index=0)), "h", [31000])
    await h.sleep.sleeping(1)
    await h.monitor.aclose()
    assert h.changes == [(TASK, True)]
    assert h.sleep.parked[0].cancelled()
    with pytest.raises(RuntimeError):
        h.monitor.track(OTHER, "i", make_app(http(port_index=0)), "h", [31000])
