"""Memory and CPU isolation with Linux cgroups, v2 (unified) or v1, when the host allows it.

Mirrors the Mesos ``cgroups/mem`` and ``cgroups/cpu`` isolators
(``src/slave/containerizer/mesos/isolators/cgroups/``):

* memory: the limit is ``mem`` MB, at least 32 MB (Mesos ``MIN_MEMORY``); v1
  ``memory.limit_in_bytes``, v2 ``memory.max`` with ``memory.swap.max=0`` and
  ``memory.oom.group=1`` where present. An OOM kill is read back from ``memory.events``
  (v2) or ``memory.oom_control`` (v1) so the task can fail with
  ``REASON_CONTAINER_LIMITATION_MEMORY``.
* cpu: 1024 shares per cpu (at least 2; v1 ``cpu.shares``, v2 ``cpu.weight`` through the
  usual ``1 + (shares - 2) * 9999 / 262142`` mapping) and a CFS quota of ``cpus`` times the
  100 ms period (at least 1 ms; v1 ``cpu.cfs_quota_us``, v2 ``cpu.max``).

Groups are created *under the agent's own cgroup* (from ``/proc/self/cgroup``), in
``<own>/<name>/<container_id>``, so a delegated subtree (systemd ``Delegate=yes``, a
container) is enough and task memory stays accounted to whatever contains the agent. On v2 a
non-root cgroup with processes cannot hand controllers to children ("no internal
processes"), so the agent's cgroup members are moved into a ``<name>-agent`` leaf first.
:meth:`Cgroups.detect` returns ``None`` with a logged reason whenever any of this is not
possible; the containerizer then runs tasks without isolation.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MB = 1024 * 1024
MIN_MEMORY = 32 * MB
CPU_SHARES_PER_CPU = 1024
MIN_CPU_SHARES = 2
CFS_PERIOD_US = 100_000
MIN_CFS_QUOTA_US = 1_000
DEFAULT_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class CgroupHandle:
    """The cgroup directories of one container (v1: one per controller, v2: one)."""

    container_id: str
    version: int
    paths: dict[str, Path]

    def dirs(self) -> list[Path]:
        return list(dict.fromkeys(self.paths.values()))

    def procs_files(self) -> list[Path]:
        """Files a process writes ``0`` to (or anyone writes its pid to) in order to join."""
        return [d / "cgroup.procs" for d in self.dirs()]

    def add_pid(self, pid: int) -> None:
        for f in self.procs_files():
            f.write_text(str(pid))

    def pids(self) -> set[int]:
        out: set[int] = set()
        for f in self.procs_files():
            try:
                out.update(int(x) for x in f.read_text().split())
            except OSError:
                pass
        return out

    def oom_killed(self) -> bool:
        """True when the kernel OOM killer fired inside this group."""
        mem = self.paths.get("memory")
        if mem is None:
            return False
        if self.version == 2:
            return _keyed(mem / "memory.events").get("oom_kill", 0) > 0
        control = _keyed(mem / "memory.oom_control")
        if "oom_kill" in control:
            return control["oom_kill"] > 0
        return control.get("under_oom", 0) > 0 or _number(mem / "memory.failcnt") > 0

    def max_usage_bytes(self) -> int:
        mem = self.paths.get("memory")
        if mem is None:
            return 0
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        return _number(mem / name)

    def kill(self) -> int:
        """SIGKILL every process left in the group; returns how many were signalled."""
        pids = self.pids()
        for d in self.dirs():
            if self.version == 2 and (d / "cgroup.kill").exists():
                _write(d / "cgroup.kill", "1")
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        return len(pids)

    def destroy(self, wait: float = 0.0) -> bool:
        """Kill what is left and remove the directories; False while the kernel is busy.

        ``wait`` > 0 retries (blocking) for that many seconds while killed processes exit.
        """
        deadline = time.monotonic() + wait
        while True:
            self.kill()
            busy = []
            for d in self.dirs():
                try:
                    d.rmdir()
                except FileNotFoundError:
                    pass
                except OSError as e:
                    busy.append(f"{d}: {e}")
            if not busy:
                return True
            if time.monotonic() >= deadline:
                log.debug("cgroup not removed yet: %s", "; ".join(busy))
                return False
            time.sleep(0.02)


class Cgroups:
    """Per-container cgroups below ``bases`` (controller name → directory)."""

    def __init__(self, version: int, bases: dict[str, Path]) -> None:
        self.version = version
        self.bases = bases

    def __repr__(self) -> str:
        return f"Cgroups(v{self.version}, {', '.join(f'{k}={v}' for k, v in self.bases.items())})"

    @classmethod
    def detect(cls, root: Path = DEFAULT_ROOT, name: str = "roost") -> Cgroups | None:
        """Find a usable hierarchy and create ``<own cgroup>/<name>``; None when unusable."""
        try:
            if (root / "cgroup.controllers").exists():
                return _detect_v2(cls, root, name)
            return _detect_v1(cls, root, name)
        except OSError as e:
            log.info("cgroups disabled: %s", e)
            return None

    def create(self, container_id: str, cpus: float | None, mem_mb: float | None) -> CgroupHandle:
        """Create the container's groups with its limits; raises ``OSError`` on failure."""
        paths = {ctrl: base / container_id for ctrl, base in self.bases.items()}
        handle = CgroupHandle(container_id, self.version, paths)
        for d in handle.dirs():
            d.mkdir(exist_ok=True)
        try:
            mem_dir, cpu_dir = paths.get("memory"), paths.get("cpu")
            if mem_dir is not None and mem_mb is not None:
                limit = max(MIN_MEMORY, int(mem_mb * MB))
                if self.version == 2:
                    _write(mem_dir / "memory.max", str(limit))
                    _write_if_present(mem_dir / "memory.swap.max", "0")
                    _write_if_present(mem_dir / "memory.oom.group", "1")
                else:
                    _write(mem_dir / "memory.limit_in_bytes", str(limit))
            if cpu_dir is not None and cpus is not None and cpus > 0:
                shares = max(MIN_CPU_SHARES, int(cpus * CPU_SHARES_PER_CPU))
                quota = max(MIN_CFS_QUOTA_US, int(cpus * CFS_PERIOD_US))
                if self.version == 2:
                    weight = 1 + ((shares - 2) * 9999) // 262142
                    _write(cpu_dir / "cpu.weight", str(min(10000, weight)))
                    _write(cpu_dir / "cpu.max", f"{quota} {CFS_PERIOD_US}")
                else:
                    _write(cpu_dir / "cpu.shares", str(shares))
                    _write(cpu_dir / "cpu.cfs_period_us", str(CFS_PERIOD_US))
                    _write(cpu_dir / "cpu.cfs_quota_us", str(quota))
        except OSError:
            handle.destroy()
            raise
        return handle

    def open(self, container_id: str) -> CgroupHandle | None:
        """The handle of an existing container group (agent restart), or None."""
        paths = {c: b / container_id for c, b in self.bases.items() if (b / container_id).is_dir()}
        return CgroupHandle(container_id, self.version, paths) if paths else None


def _detect_v1(cls: type[Cgroups], root: Path, name: str) -> Cgroups | None:
    own = _own_cgroups()
    if not (root / "memory" / "memory.limit_in_bytes").exists():
        log.info("cgroups disabled: no memory controller under %s", root)
        return None
    bases: dict[str, Path] = {}
    for ctrl, probe in (("memory", "memory.limit_in_bytes"), ("cpu", "cpu.shares")):
        if not (root / ctrl / probe).exists():
            log.info("cgroups: %s controller not mounted under %s; not limiting it", ctrl, root)
            continue
        base = _below(root / ctrl, own.get(ctrl, "/")) / name
        try:
            base.mkdir(exist_ok=True)
        except OSError as e:
            if ctrl == "memory":
                log.info("cgroups disabled: cannot create %s: %s", base, e)
                return None
            log.info("cgroups: cannot create %s (%s); not limiting cpu", base, e)
            continue
        bases[ctrl] = base
    log.info("cgroups v1 enabled: %s", ", ".join(f"{k}={v}" for k, v in bases.items()))
    return cls(1, bases)


def _detect_v2(cls: type[Cgroups], root: Path, name: str) -> Cgroups | None:
    parent = _below(root, _own_cgroups().get("", "/"))
    if parent.name == f"{name}-agent":  # we moved ourselves into the leaf on an earlier run
        parent = parent.parent
    available = (parent / "cgroup.controllers").read_text().split()
    if "memory" not in available:
        log.info("cgroups disabled: no memory controller in %s (have %s)", parent, available)
        return None
    wanted = [c for c in ("memory", "cpu") if c in available]
    try:
        _enable(parent, wanted)
    except OSError as e:
        if e.errno != errno.EBUSY:
            raise
        leaf = parent / f"{name}-agent"  # "no internal processes": move members to a leaf
        leaf.mkdir(exist_ok=True)
        for pid in (parent / "cgroup.procs").read_text().split():
            try:
                _write(leaf / "cgroup.procs", pid)
            except OSError as err:
                if err.errno != errno.ESRCH:
                    raise
        log.info("cgroups: moved the processes of %s into %s", parent, leaf)
        _enable(parent, wanted)
    base = parent / name
    base.mkdir(exist_ok=True)
    _enable(base, wanted)
    log.info("cgroups v2 enabled at %s (%s)", base, " ".join(wanted))
    return cls(2, {c: base for c in wanted})


def _enable(group: Path, controllers: Sequence[str]) -> None:
    control = group / "cgroup.subtree_control"
    have = control.read_text().split() if control.exists() else []
    missing = [c for c in controllers if c not in have]
    if missing:
        _write(control, " ".join(f"+{c}" for c in missing))


def _own_cgroups() -> dict[str, str]:
    """``/proc/self/cgroup`` as controller → path (``""`` is the v2 unified hierarchy)."""
    out: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        _, _, rest = line.partition(":")
        ctrls, _, path = rest.partition(":")
        for ctrl in ctrls.split(",") if ctrls else [""]:
            out[ctrl] = path
    return out


def _below(mount: Path, own: str) -> Path:
    """Our own group inside ``mount``; the mount itself when ``own`` is not visible there."""
    candidate = mount / own.lstrip("/")
    return candidate if candidate.is_dir() else mount


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _write_if_present(path: Path, value: str) -> None:
    if path.exists():
        _write(path, value)


def _keyed(path: Path) -> dict[str, int]:
    try:
        pairs = (line.split() for line in path.read_text().splitlines())
        return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].lstrip("-").isdigit()}
    except OSError:
        return {}


def _number(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0
