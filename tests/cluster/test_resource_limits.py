"""Memory limits end to end: a task that allocates far more than its ``mem`` is OOM-killed in
its cgroup and reported TASK_FAILED with REASON_CONTAINER_LIMITATION_MEMORY. Where the host
has no usable cgroups the agent degrades: the task runs unconfined and finishes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from roost.cluster.agent.cgroups import Cgroups
from roost.testing.processes import RoostProcess, agent_process, master_process, wait_until
from tests.cluster.master.conftest import RawScheduler, launch, task_info

pytestmark = pytest.mark.slow

HOG = f"{sys.executable} -c 'b = bytearray(300 * 1024 * 1024); print(len(b))'"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[RoostProcess]:
    master = master_process(tmp_path / "m", "--allocation-interval", "0.1").start()
    agent = agent_process(master.address, tmp_path / "a", "--resources", "cpus:2;mem:2048").start()
    wait_until(lambda: master.get("/metrics/snapshot").json()["master/slaves_active"] == 1)
    yield master
    agent.terminate()
    master.terminate()


async def test_task_over_its_memory_limit_fails_with_memory_reason(cluster: RoostProcess) -> None:
    s = RawScheduler(cluster.address)
    await s.subscribe()
    try:
        offer = await s.offer()
        await s.call("ACCEPT", launch(offer, task_info("hog", offer, mem=48, cmd=HOG)))
        if Cgroups.detect() is not None:
            status = await s.update("hog", "TASK_FAILED", timeout=30)
            assert status["reason"] == "REASON_CONTAINER_LIMITATION_MEMORY"
            assert "Memory limit exceeded" in status["message"]
        else:
            await s.update("hog", "TASK_FINISHED", timeout=30)
    finally:
        await s.close()
