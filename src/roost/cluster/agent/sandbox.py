"""Sandbox directories, laid out as Mesos does (``src/slave/paths.cpp``, ``docs/sandbox.md``).

``<work_dir>/slaves/<agent>/frameworks/<fw>/executors/<exec>/runs/<container>/`` holds one
run of an executor (``stdout``, ``stderr`` and fetched URIs); ``runs/latest`` is a symlink
to the newest run, so ``.../executors/<exec>/runs/latest/stdout`` always shows the current
log. Every id is also a path component, so each is checked with
:func:`roost.core.ids.is_safe_id` before it touches the filesystem.
"""

from __future__ import annotations

import os
from pathlib import Path

from roost.core.ids import is_safe_id

LATEST = "latest"
SANDBOX_MODE = 0o755


def sandbox_dir(
    work_dir: Path, agent_id: str, framework_id: str, executor_id: str, container_id: str
) -> Path:
    """The sandbox path of one run; raises ``ValueError`` for ids unsafe as path components."""
    for kind, value in (
        ("agent_id", agent_id),
        ("framework_id", framework_id),
        ("executor_id", executor_id),
        ("container_id", container_id),
    ):
        if not isinstance(value, str) or not is_safe_id(value):
            raise ValueError(
                f"invalid {kind} {value!r}: ids used in sandbox paths may contain only "
                "letters, digits, '_', '.' and '-' (1 to 255 of them, not '.' or '..')"
            )
    if container_id == LATEST:
        raise ValueError(f"invalid container_id {LATEST!r}: the name is kept for the symlink")
    return (
        Path(work_dir)
        / "slaves"
        / agent_id
        / "frameworks"
        / framework_id
        / "executors"
        / executor_id
        / "runs"
        / container_id
    )


def create_sandbox(
    work_dir: Path, agent_id: str, framework_id: str, executor_id: str, container_id: str
) -> Path:
    """Create the sandbox (mode 0755) and point ``runs/latest`` at it; returns its path."""
    path = sandbox_dir(work_dir, agent_id, framework_id, executor_id, container_id)
    path.mkdir(mode=SANDBOX_MODE, parents=True, exist_ok=True)
    os.chmod(path, SANDBOX_MODE)  # mkdir's mode is filtered by the umask
    _point_latest(path.parent, container_id)
    return path


def chown_sandbox(path: Path, uid: int, gid: int) -> None:
    """Hand the sandbox to the task's user, as Mesos does with ``--switch_user``."""
    os.chown(path, uid, gid)
    for base, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(base, name), uid, gid, follow_symlinks=False)


def _point_latest(runs: Path, container_id: str) -> None:
    """Replace ``runs/latest`` atomically (symlink to a temporary name, then rename)."""
    tmp = runs / f".{LATEST}.{container_id}.{os.getpid()}"
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass
    os.symlink(container_id, tmp)
    os.replace(tmp, runs / LATEST)
