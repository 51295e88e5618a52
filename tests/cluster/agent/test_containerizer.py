"""The containerizer with real processes: commands, env, logs, kills, URIs, cgroups, orphans."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
import uvloop

from roost.cluster.agent.cgroups import Cgroups
from roost.cluster.agent.containerizer import Container, Containerizer, LaunchSpec
from roost.cluster.agent.errors import FetchError, LaunchError

HAVE_CGROUPS = Cgroups.detect() is not None
needs_cgroups = pytest.mark.skipif(not HAVE_CGROUPS, reason="no writable cgroup hierarchy here")


@pytest.fixture
async def cz(tmp_path: Path) -> AsyncIterator[Containerizer]:
    containerizer = Containerizer(tmp_path, cgroups=None)
    yield containerizer
    await containerizer.destroy_all(grace_period=0)


@pytest.fixture
async def cz_cgroups(tmp_path: Path) -> AsyncIterator[Containerizer]:
    if not HAVE_CGROUPS:
        pytest.skip("no writable cgroup hierarchy here")
    containerizer = Containerizer(tmp_path, cgroups="auto")
    assert containerizer.cgroups is not None
    yield containerizer
    await containerizer.destroy_all(grace_period=0)


def spec(tmp: Path, command: dict[str, Any] | str, **kw: Any) -> LaunchSpec:
    cid = f"c-{uuid.uuid4()}"
    cmd = {"value": command} if isinstance(command, str) else command
    return LaunchSpec(cid, tmp / cid, cmd, kw.pop("env", {}), **kw)


async def run(cz: Containerizer, tmp: Path, command: dict[str, Any] | str, **kw: Any) -> Container:
    container = await cz.launch(spec(tmp, command, **kw))
    await asyncio.wait_for(container.wait(), 10)
    return container


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def eventually_gone(pids: list[int], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(gone(p) for p in pids):
            return True
        await asyncio.sleep(0.02)
    return False


async def eventually_true(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``check`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.02)
    return check()


async def test_shell_command_logs_to_sandbox_stdout_and_stderr(
    cz: Containerizer, tmp_path: Path
) -> None:
    c = await run(cz, tmp_path, "echo out; echo err >&2; pwd; cat")
    assert (c.sandbox / "stdout").read_text() == f"out\n{c.sandbox}\n"
    assert (c.sandbox / "stderr").read_text() == "err\n"
    assert c.termination is not None and c.termination.exit_code == 0
    assert not c.running
    assert cz.containers() == []


async def test_non_shell_command_gets_arguments_as_argv(cz: Containerizer, tmp_path: Path) -> None:
    script = 'echo "$0|$1"; head -c 7 /proc/$$/cmdline'
    command = {
        "value": "/bin/sh",
        "shell": False,
        "arguments": ["my-name", "-c", script, "a b", "c"],
    }
    c = await run(cz, tmp_path, command)
    assert (c.sandbox / "stdout").read_text() == "a b|c\nmy-name"


@pytest.mark.parametrize("value", ["pwd", "/bin/pwd"])
async def test_non_shell_command_without_arguments_runs_the_value(
    cz: Containerizer, tmp_path: Path, value: str
) -> None:
    c = await run(cz, tmp_path, {"value": value, "shell": False})
    assert (c.sandbox / "stdout").read_text() == f"{c.sandbox}\n"


async def test_env_merges_agent_spec_and_command_environment(
    cz: Containerizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROOST_OUTER", "agent")
    monkeypatch.setenv("SHARED", "agent")
    command = {
        "value": 'echo "$ROOST_OUTER $MESOS_SANDBOX $SHARED"',
        "environment": {"variables": [{"name": "SHARED", "value": "command"}]},
    }
    env = {"MESOS_SANDBOX": "/sb", "SHARED": "spec"}
    c = await run(cz, tmp_path, command, env=env)
    assert (c.sandbox / "stdout").read_text() == "agent /sb command\n"


@pytest.mark.parametrize(
    ("command", "exit_code", "sig", "message"),
    [
        ("exit 0", 0, None, "Command exited with status 0"),
        ("exit 3", 3, None, "Command exited with status 3"),
        ("no-such-command-here", 127, None, "Command exited with status 127"),
        ("kill -9 $$", None, 9, "Command terminated with signal SIGKILL"),
        ("kill -TERM $$", None, 15, "Command terminated with signal SIGTERM"),
    ],
)
async def test_exit_status_becomes_the_mesos_message(
    cz: Containerizer,
    tmp_path: Path,
    command: str,
    exit_code: int | None,
    sig: int | None,
    message: str,
) -> None:
    c = await run(cz, tmp_path, command)
    t = await c.wait()
    assert (t.exit_code, t.signal, t.message, t.killed, t.oom) == (
        exit_code,
        sig,
        message,
        False,
        False,
    )


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ({"value": "/no/such/binary", "shell": False}, "Failed to execute '/no/such/binary'"),
        ({"value": "no-such-binary-anywhere", "shell": False}, "No such file"),
        ({"value": "/dev/null", "shell": False}, "Permission denied"),
        ({"value": ""}, "CommandInfo.value"),
        ({"value": "true", "shell": "yes"}, "CommandInfo.shell"),
        ({"value": "x", "shell": False, "arguments": "x"}, "CommandInfo.arguments"),
        ({"value": "true", "environment": {"variables": [{"name": "A=B"}]}}, "invalid name"),
        (
            {"value": "true", "environment": {"variables": [{"name": "S", "type": "SECRET"}]}},
            "only VALUE variables",
        ),
        ({"value": "true", "user": "no-such-user-xyz"}, "no such user"),
    ],
)
async def test_bad_commands_raise_launch_error(
    cz: Containerizer, tmp_path: Path, command: dict[str, Any], message: str
) -> None:
    if command.get("user") and os.geteuid() != 0:
        pytest.skip("user switching needs root")
    with pytest.raises(LaunchError, match=message):
        await cz.launch(spec(tmp_path, command))
    assert cz.containers() == []


async def test_duplicate_and_unsafe_container_ids_are_refused(
    cz: Containerizer, tmp_path: Path
) -> None:
    s = spec(tmp_path, "sleep 10")
    await cz.launch(s)
    with pytest.raises(LaunchError, match="already exists"):
        await cz.launch(s)
    with pytest.raises(LaunchError, match="invalid container id"):
        await cz.launch(LaunchSpec("../x", tmp_path / "x", {"value": "true"}, {}))


async def test_kill_sends_sigterm_and_a_cooperative_task_exits_at_once(
    cz: Containerizer, tmp_path: Path
) -> None:
    c = await cz.launch(spec(tmp_path, "sleep 100"))
    started = time.monotonic()
    await c.kill(grace_period=5)
    assert time.monotonic() - started < 1
    t = await c.wait()
    assert (t.signal, t.killed, t.message) == (15, True, "Command terminated with signal SIGTERM")


async def test_kill_escalates_to_sigkill_after_the_grace_period(
    cz: Containerizer, tmp_path: Path
) -> None:
    c = await cz.launch(spec(tmp_path, "trap '' TERM; echo ready; sleep 100"))
    for _ in range(500):  # the trap must be set before the kill
        if (c.sandbox / "stdout").read_text() == "ready\n":
            break
        await asyncio.sleep(0.01)
    started = time.monotonic()
    await c.kill(grace_period=0.5)
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 2
    t = await c.wait()
    assert (t.signal, t.killed) == (9, True)


async def test_kill_reaches_grandchildren(cz: Containerizer, tmp_path: Path) -> None:
    c = await cz.launch(spec(tmp_path, "sleep 100 & sleep 100 & wait"))

    def kids() -> list[int]:
        return [p.pid for p in psutil.Process(c.pid).children(recursive=True)]

    # The shell forks the sleeps after launch() returns, as soon as it gets to run.
    assert await eventually_true(lambda: len(kids()) == 2), kids()
    grandchildren = kids()
    await c.kill(grace_period=2)
    assert await eventually_gone([c.pid, *grandchildren])


async def test_processes_left_behind_are_killed_when_the_task_ends(
    cz: Containerizer, tmp_path: Path
) -> None:
    c = await run(cz, tmp_path, "sleep 100 & echo $!")
    leftover = int((c.sandbox / "stdout").read_text())
    assert await eventually_gone([leftover])


async def test_kill_is_idempotent_and_a_no_op_after_exit(cz: Containerizer, tmp_path: Path) -> None:
    c = await cz.launch(spec(tmp_path, "sleep 100"))
    await asyncio.gather(c.kill(1), c.kill(1))
    await c.kill(1)
    assert (await c.wait()).killed
    done = await run(cz, tmp_path, "true")
    await done.kill()
    assert not (await done.wait()).killed


async def test_destroy_all_kills_every_container(cz: Containerizer, tmp_path: Path) -> None:
    cs = [await cz.launch(spec(tmp_path, "sleep 100")) for _ in range(5)]
    assert len(cz.containers()) == 5
    await cz.destroy_all(grace_period=1)
    assert cz.containers() == []
    assert [(await c.wait()).killed for c in cs] == [True] * 5


async def test_many_trivial_launches_all_complete(cz: Containerizer, tmp_path: Path) -> None:
    started = time.monotonic()
    cs = [await cz.launch(spec(tmp_path, "true")) for _ in range(50)]
    results = await asyncio.gather(*(c.wait() for c in cs))
    assert {r.exit_code for r in results} == {0}
    assert time.monotonic() - started < 10  # about 0.3 s on two idle cores


async def test_uris_are_fetched_before_the_command_runs(cz: Containerizer, tmp_path: Path) -> None:
    data = tmp_path / "payload.txt"
    data.write_text("fetched\n")
    c = await run(cz, tmp_path, {"value": "cat payload.txt", "uris": [{"value": str(data)}]})
    assert (c.sandbox / "stdout").read_text() == "fetched\n"


async def test_a_missing_uri_fails_the_launch(cz: Containerizer, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="/no/such/uri"):
        await cz.launch(spec(tmp_path, {"value": "true", "uris": [{"value": "/no/such/uri"}]}))
    assert cz.containers() == []


needs_nobody = pytest.mark.skipif(
    os.geteuid() != 0 or not _has_user("nobody"), reason="needs root and a 'nobody' user"
)


@needs_nobody
async def test_command_user_runs_the_task_as_that_user(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)  # the sandbox is entered as root, then the task drops to the user
    cz = Containerizer(tmp_path, cgroups=None)
    c = await run(cz, tmp_path, {"value": "id -un; touch mine", "user": "nobody"})
    assert (c.sandbox / "stdout").read_text() == "nobody\n"
    assert (c.sandbox / "mine").owner() == "nobody"
    as_agent = Containerizer(tmp_path, cgroups=None, switch_user=False)
    c = await run(as_agent, tmp_path, {"value": "id -un", "user": "nobody"})
    assert (c.sandbox / "stdout").read_text() == "root\n"


def test_children_are_reaped_under_uvloop(tmp_path: Path) -> None:
    async def scenario() -> tuple[int | None, int | None]:
        cz = Containerizer(tmp_path, cgroups=None)
        done = await cz.launch(spec(tmp_path, "exit 7"))
        sleeper = await cz.launch(spec(tmp_path, "sleep 100"))
        await sleeper.kill(grace_period=1)
        return (await done.wait()).exit_code, (await sleeper.wait()).signal

    assert uvloop.run(scenario()) == (7, signal.SIGTERM)


@needs_cgroups
async def test_memory_limit_kills_the_task_with_oom(
    cz_cgroups: Containerizer, tmp_path: Path
) -> None:
    hog = "python3 -c 'b = bytearray(200 * 1024 * 1024)'"
    c = await run(cz_cgroups, tmp_path, hog, mem_mb=32)
    t = await c.wait()
    assert t.oom
    assert t.message.startswith("Memory limit exceeded: Requested: 32MB Maximum Used: ")


@needs_cgroups
@pytest.mark.parametrize("shell", [True, False])
async def test_task_runs_inside_its_cgroup_with_cpu_limits(
    cz_cgroups: Containerizer, tmp_path: Path, shell: bool
) -> None:
    command = (
        {"value": "sleep 100"}
        if shell
        else {"value": "sleep", "shell": False, "arguments": ["sleep", "100"]}
    )
    c = await cz_cgroups.launch(spec(tmp_path, command, cpus=0.25, mem_mb=64))
    assert c.cgroup is not None
    cgroup = c.cgroup
    # A shell command joins its cgroup itself (the roost-join prelude), after launch() returns.
    assert await eventually_true(lambda: c.pid in cgroup.pids()), cgroup.pids()
    cpu = c.cgroup.paths.get("cpu")
    if cpu is not None and c.cgroup.version == 1:
        assert (cpu / "cpu.cfs_quota_us").read_text().strip() == "25000"
        assert (cpu / "cpu.shares").read_text().strip() == "256"
    elif cpu is not None:
        assert (cpu / "cpu.max").read_text().strip() == "25000 100000"
    await c.kill(grace_period=1)
    assert not (await c.wait()).oom
    assert not any(d.exists() for d in c.cgroup.dirs())


ORPHAN_MAKER = textwrap.dedent(
    """
    import asyncio, os, sys
    from pathlib import Path
    from roost.cluster.agent.containerizer import Containerizer, LaunchSpec

    async def main():
        work = Path(sys.argv[1])
        cz = Containerizer(work, cgroups=None if sys.argv[2] == "none" else "auto")
        c = await cz.launch(LaunchSpec("orphan", work / "sb", {"value": "sleep 100"}, {}))
        print(c.pid, flush=True)
        os._exit(0)  # a crashed agent: no cleanup

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("cgroups", ["none", "auto"])
async def test_cleanup_orphans_kills_what_a_previous_agent_left(
    tmp_path: Path, cgroups: str
) -> None:
    if cgroups == "auto" and not HAVE_CGROUPS:
        pytest.skip("no writable cgroup hierarchy here")
    maker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", ORPHAN_MAKER, str(tmp_path), cgroups, stdout=subprocess.PIPE
    )
    stdout, _ = await asyncio.wait_for(maker.communicate(), 30)
    assert maker.returncode == 0
    pid = int(stdout)
    assert not gone(pid)
    cz = Containerizer(tmp_path, cgroups=None if cgroups == "none" else "auto")
    assert cz.cleanup_orphans() == 1
    assert await eventually_gone([pid])
    assert list((tmp_path / "meta" / "containers").iterdir()) == []
    assert cz.cleanup_orphans() == 0


async def test_cleanup_orphans_leaves_a_reused_pid_alone(tmp_path: Path) -> None:
    bystander = await asyncio.create_subprocess_exec("sleep", "100", start_new_session=True)
    try:
        meta = tmp_path / "meta" / "containers"
        meta.mkdir(parents=True)
        record = {"pid": bystander.pid, "start_time": 1.0, "sandbox": "/x", "cgroup": False}
        (meta / "old.json").write_text(json.dumps(record))
        (meta / "garbage.json").write_text("{not json")
        cz = Containerizer(tmp_path, cgroups=None)
        assert cz.cleanup_orphans() == 0
        assert bystander.returncode is None and not gone(bystander.pid)
        assert list(meta.iterdir()) == []
    finally:
        bystander.kill()
        await bystander.wait()
