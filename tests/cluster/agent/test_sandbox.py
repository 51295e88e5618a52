"""Sandbox layout: the Mesos directory tree, the ``latest`` symlink and id validation."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from roost.cluster.agent.sandbox import create_sandbox, sandbox_dir


def test_sandbox_dir_follows_the_mesos_layout(tmp_path: Path) -> None:
    path = sandbox_dir(tmp_path, "M-S1", "M-0000", "web.1", "c-1")
    assert path == tmp_path / "slaves/M-S1/frameworks/M-0000/executors/web.1/runs/c-1"
    assert not path.exists()


def test_create_sandbox_makes_a_0755_directory_and_points_latest_at_it(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        path = create_sandbox(tmp_path, "a", "f", "e", "c1")
    finally:
        os.umask(old)
    assert path.is_dir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    latest = path.parent / "latest"
    assert os.readlink(latest) == "c1"
    assert latest.resolve() == path.resolve()


def test_latest_moves_to_the_newest_run(tmp_path: Path) -> None:
    first = create_sandbox(tmp_path, "a", "f", "e", "c1")
    second = create_sandbox(tmp_path, "a", "f", "e", "c2")
    assert (first.parent / "latest").resolve() == second.resolve()
    assert first.is_dir()
    assert sorted(p.name for p in first.parent.iterdir()) == ["c1", "c2", "latest"]


def test_create_sandbox_is_idempotent(tmp_path: Path) -> None:
    assert create_sandbox(tmp_path, "a", "f", "e", "c1") == create_sandbox(
        tmp_path, "a", "f", "e", "c1"
    )


@pytest.mark.parametrize(
    ("ids", "kind"),
    [
        (("a/b", "f", "e", "c"), "agent_id"),
        (("a", "..", "e", "c"), "framework_id"),
        (("a", "f", ".", "c"), "executor_id"),
        (("a", "f", "e", "../../etc"), "container_id"),
        (("a", "f", "e", ""), "container_id"),
        (("a", "f", "e x", "c"), "executor_id"),
        (("a", "f", "e", "x" * 256), "container_id"),
        (("a", "f", "e", "latest"), "container_id"),
        (("a", "f\x00", "e", "c"), "framework_id"),
    ],
)
def test_unsafe_ids_are_refused(ids: tuple[str, str, str, str], kind: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=kind):
        create_sandbox(tmp_path, *ids)
    assert list(tmp_path.iterdir()) == []
