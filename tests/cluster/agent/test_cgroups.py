"""Cgroups: limits written on this host's real hierarchy, and detection on hand-made trees."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import psutil
import pytest

from roost.cluster.agent.cgroups import Cgroups

REAL = Cgroups.detect()
needs_cgroups = pytest.mark.skipif(REAL is None, reason="no writable cgroup hierarchy here")


def _read(path: Path) -> str:
    return path.read_text().strip()


@needs_cgroups
def test_create_writes_memory_and_cpu_limits() -> None:
    assert REAL is not None
    handle = REAL.create(f"t-{uuid.uuid4()}", cpus=0.5, mem_mb=64)
    try:
        mem, cpu = handle.paths["memory"], handle.paths.get("cpu")
        if REAL.version == 1:
            assert _read(mem / "memory.limit_in_bytes") == str(64 * 1024 * 1024)
            if cpu is not None:
                assert _read(cpu / "cpu.shares") == "512"
                assert _read(cpu / "cpu.cfs_period_us") == "100000"
                assert _read(cpu / "cpu.cfs_quota_us") == "50000"
        else:
            assert _read(mem / "memory.max") == str(64 * 1024 * 1024)
            if cpu is not None:
                assert _read(cpu / "cpu.max") == "50000 100000"
                assert _read(cpu / "cpu.weight") == "20"
        assert not handle.oom_killed()
    finally:
        assert handle.destroy()
    assert not any(d.exists() for d in handle.dirs())


@needs_cgroups
def test_memory_limit_is_at_least_32_mb() -> None:
    assert REAL is not None
    handle = REAL.create(f"t-{uuid.uuid4()}", cpus=None, mem_mb=1)
    try:
        name = "memory.limit_in_bytes" if REAL.version == 1 else "memory.max"
        assert _read(handle.paths["memory"] / name) == str(32 * 1024 * 1024)
    finally:
        handle.destroy()


@needs_cgroups
def test_destroy_kills_processes_left_in_the_group() -> None:
    assert REAL is not None
    handle = REAL.create(f"t-{uuid.uuid4()}", cpus=None, mem_mb=None)
    proc = subprocess.Popen(["sleep", "100"])
    try:
        handle.add_pid(proc.pid)
        assert handle.pids() == {proc.pid}
        handle.kill()
        assert proc.wait(timeout=5) == -9
        assert handle.destroy()
    finally:
        proc.kill()
        proc.wait()


@needs_cgroups
def test_open_finds_an_existing_group_and_nothing_else() -> None:
    assert REAL is not None
    cid = f"t-{uuid.uuid4()}"
    handle = REAL.create(cid, cpus=None, mem_mb=None)
    try:
        assert REAL.open(cid) == handle
        assert REAL.open("no-such-container") is None
    finally:
        handle.destroy()


def _fake_v2(root: Path, controllers: str) -> Path:
    root.mkdir()
    (root / "cgroup.controllers").write_text(controllers + "\n")
    (root / "cgroup.subtree_control").write_text("")
    return root


def test_v2_enables_controllers_and_writes_unified_limits(tmp_path: Path) -> None:
    root = _fake_v2(tmp_path / "cg", "cpuset cpu io memory pids")
    cgroups = Cgroups.detect(root=root, name="roost")
    assert cgroups is not None and cgroups.version == 2
    assert _read(root / "cgroup.subtree_control") == "+memory +cpu"
    assert _read(root / "roost" / "cgroup.subtree_control") == "+memory +cpu"
    handle = cgroups.create("c1", cpus=2.0, mem_mb=128)
    group = root / "roost" / "c1"
    assert handle.dirs() == [group]
    assert _read(group / "memory.max") == str(128 * 1024 * 1024)
    assert _read(group / "cpu.max") == "200000 100000"
    assert _read(group / "cpu.weight") == "79"  # 2048 shares, as runc and systemd map them
    (group / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert handle.oom_killed()


def test_v2_without_the_memory_controller_is_unavailable(tmp_path: Path) -> None:
    assert Cgroups.detect(root=_fake_v2(tmp_path / "cg", "cpu io pids")) is None


def test_no_cgroup_filesystem_is_unavailable(tmp_path: Path) -> None:
    assert Cgroups.detect(root=tmp_path) is None
    assert Cgroups.detect(root=tmp_path / "missing") is None


def test_killing_an_empty_group_signals_nobody(tmp_path: Path) -> None:
    root = _fake_v2(tmp_path / "cg", "cpu memory")
    cgroups = Cgroups.detect(root=root)
    assert cgroups is not None
    handle = cgroups.create("c2", cpus=None, mem_mb=None)
    (handle.dirs()[0] / "cgroup.procs").write_text("")
    assert handle.kill() == 0
    assert psutil.pid_exists(1)
