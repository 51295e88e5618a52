"""Run task commands as process groups in their sandboxes, with cgroup limits when available.

This is the part of the Mesos containerizer and built-in command executor
(``src/slave/containerizer/mesos/``, ``src/launcher/executor.cpp``) that a roost agent needs:

* ``CommandInfo.shell`` (default true) runs ``/bin/sh -c value``; otherwise ``value`` is
  executed with ``arguments`` as its argv (``arguments[0]`` is argv[0], as in Mesos; uvloop
  sets argv[0] to ``value`` instead). ``CommandInfo.uris`` are fetched first.
* The environment is the agent's, then :attr:`LaunchSpec.env` (the ``MESOS_*`` variables),
  then ``CommandInfo.environment`` (it wins). ``CommandInfo.user`` is honoured when the
  agent runs as root (Mesos ``--switch_user``). Output is appended to ``<sandbox>/stdout``
  and ``<sandbox>/stderr``; the working directory is the sandbox; stdin is ``/dev/null``.
* Every task is its own session and process group, placed in its cgroup *before* it execs,
  so a kill reaches grandchildren: SIGTERM to the group, SIGKILL after the grace period
  (Mesos' ``KillPolicy`` default is 3 s). When the task's main process exits, whatever is
  left of its group and cgroup is killed, as Mesos destroys the container.
* Each running container is recorded in ``<work_dir>/meta/containers/<id>.json`` (pid and
  start time), so an agent restarting after a crash can kill what the last run left behind
  (:meth:`Containerizer.cleanup_orphans`) without being fooled by pid reuse.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psutil

from roost.cluster.agent.cgroups import MB, CgroupHandle, Cgroups
from roost.cluster.agent.errors import LaunchError
from roost.cluster.agent.fetcher import fetch_uris
from roost.cluster.agent.process_spec import SHELL, command_argv, command_user, preexec
from roost.cluster.agent.sandbox import chown_sandbox
from roost.core.ids import is_safe_id

log = logging.getLogger(__name__)

# argv: roost-join <cgroup.procs>... -- <command>...; "0" written to cgroup.procs moves the writer
_JOIN = (
    'while [ "$1" != -- ]; do echo 0 >"$1" || '
    '{ echo "roost: cannot join cgroup $1" >&2; exit 125; }; shift; done; shift; exec "$@"'
)


@dataclass(frozen=True)
class LaunchSpec:
    """What to run: a Mesos ``CommandInfo`` plus the sandbox, extra env and limits."""

    container_id: str
    sandbox: Path
    command: dict[str, Any]
    env: dict[str, str]
    cpus: float | None = None
    mem_mb: float | None = None


@dataclass(frozen=True)
class Termination:
    """How a container ended; ``message`` is what Mesos' command executor reports."""

    exit_code: int | None
    signal: int | None
    oom: bool
    killed: bool
    message: str


class Container:
    """One running task command: a process group (and cgroup) reaped in the background."""

    def __init__(
        self,
        container_id: str,
        proc: asyncio.subprocess.Process,
        sandbox: Path,
        cgroup: CgroupHandle | None,
        mem_mb: float | None,
        on_exit: Callable[[Container], None],
    ) -> None:
        self.container_id = container_id
        self.pid = proc.pid
        self.sandbox = sandbox
        self.cgroup = cgroup  # None when running without cgroups
        self._proc = proc
        self._mem_mb = mem_mb
        self._on_exit = on_exit
        self._killed = False
        self._kill_task: asyncio.Task[None] | None = None
        self._done: asyncio.Future[Termination] = asyncio.get_running_loop().create_future()
        self._reaper = asyncio.create_task(self._reap(), name=f"reap-{container_id}")

    @property
    def running(self) -> bool:
        return not self._done.done()

    @property
    def termination(self) -> Termination | None:
        return self._done.result() if self._done.done() else None

    async def wait(self) -> Termination:
        """Wait until the container has ended and been cleaned up."""
        return await asyncio.shield(self._done)

    async def kill(self, grace_period: float = 3.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``grace_period``; returns when dead."""
        if self._done.done():
            return
        if self._kill_task is None:
            self._killed = True
            self._kill_task = asyncio.create_task(self._escalate(grace_period))
        await asyncio.shield(self._kill_task)

    async def _escalate(self, grace_period: float) -> None:
        self._signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(self._done), max(0.0, grace_period))
            return
        except TimeoutError:
            pass
        log.debug("container %s ignored SIGTERM for %.1fs", self.container_id, grace_period)
        self._signal(signal.SIGKILL)
        if self.cgroup is not None:
            self.cgroup.kill()  # also reaches processes that left the process group
        await asyncio.shield(self._done)

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    async def _reap(self) -> None:
        returncode = await self._proc.wait()
        self._signal(signal.SIGKILL)  # the task is over: so is the rest of its group
        oom, used = False, 0
        if self.cgroup is not None:
            oom, used = self.cgroup.oom_killed(), self.cgroup.max_usage_bytes()
            for _ in range(100):
                if self.cgroup.destroy():
                    break
                await asyncio.sleep(0.01)
            else:
                log.warning("cgroup of container %s could not be removed", self.container_id)
        code = returncode if returncode >= 0 else None
        sig = -returncode if returncode < 0 else None
        if oom:
            requested = f"{self._mem_mb:g}MB" if self._mem_mb is not None else "unlimited"
            message = f"Memory limit exceeded: Requested: {requested} Maximum Used: {used // MB}MB"
        elif sig is not None:
            try:
                name = signal.Signals(sig).name
            except ValueError:  # real-time signals have no name
                name = str(sig)
            message = f"Command terminated with signal {name}"
        else:
            message = f"Command exited with status {code}"
        try:
            self._on_exit(self)
        except OSError as e:
            log.warning("container %s: cleanup failed: %s", self.container_id, e)
        self._done.set_result(Termination(code, sig, oom, self._killed, message))


class Containerizer:
    """Launches, tracks and kills containers under ``work_dir``."""

    def __init__(
        self,
        work_dir: Path,
        *,
        cgroups: Cgroups | Literal["auto"] | None = "auto",
        switch_user: bool = True,
    ) -> None:
        self.work_dir = Path(work_dir)
        self.switch_user = switch_user  # Mesos --switch_user: run as CommandInfo.user if root
        self.cgroups: Cgroups | None = Cgroups.detect() if cgroups == "auto" else cgroups
        self._meta = self.work_dir / "meta" / "containers"
        self._meta.mkdir(parents=True, exist_ok=True)
        self._containers: dict[str, Container] = {}
        self._launching: set[str] = set()

    async def launch(self, spec: LaunchSpec) -> Container:
        """Fetch URIs, then start the command; raises ``LaunchError`` (or ``FetchError``)."""
        cid = spec.container_id
        if not isinstance(cid, str) or not is_safe_id(cid):
            raise LaunchError(f"invalid container id {cid!r}")
        if cid in self._containers or cid in self._launching:
            raise LaunchError(f"container '{cid}' already exists")
        self._launching.add(cid)
        try:
            argv, executable = command_argv(spec.command)
            env = _environment(spec)
            user = command_user(spec.command) if self.switch_user else None
            spec.sandbox.mkdir(parents=True, exist_ok=True)
            await fetch_uris(spec.command.get("uris") or [], spec.sandbox)
            if user is not None:
                chown_sandbox(spec.sandbox, user[0], user[1])
            cgroup = self._create_cgroup(spec)
            try:
                proc = await _spawn(argv, executable, env, spec.sandbox, cgroup, user)
            except BaseException:
                if cgroup is not None:
                    cgroup.destroy()
                raise
        finally:
            self._launching.discard(cid)
        container = Container(cid, proc, spec.sandbox, cgroup, spec.mem_mb, self._forget)
        self._containers[cid] = container
        try:
            self._record(container, cgroup is not None)
        except OSError as e:  # e.g. a full disk: the task runs, only orphan cleanup is lost
            log.warning("cannot record container %s for orphan cleanup: %s", cid, e)
        log.debug("launched container %s pid=%d", cid, proc.pid)
        return container

    def containers(self) -> list[Container]:
        return list(self._containers.values())

    async def destroy_all(self, grace_period: float = 3.0) -> None:
        """Kill every container (agent shutdown); returns when all are gone."""
        await asyncio.gather(*(c.kill(grace_period) for c in self.containers()))

    def cleanup_orphans(self) -> int:
        """Kill containers a previous agent run recorded and left running; returns how many."""
        killed = 0
        for record in sorted(self._meta.glob("*.json")):
            cid = record.stem
            if cid in self._containers or cid in self._launching:
                continue
            try:
                info = json.loads(record.read_text())
                hit = _kill_recorded(int(info["pid"]), info.get("start_time"))
            except (OSError, ValueError, KeyError, TypeError) as e:
                log.warning("ignoring unreadable container record %s: %s", record, e)
                hit = False
            handle = self.cgroups.open(cid) if self.cgroups is not None else None
            if handle is not None:
                hit = handle.kill() > 0 or hit
                if not handle.destroy(wait=1.0):  # at agent start, before serving
                    log.warning("orphaned cgroup of %s could not be removed", cid)
            if hit:
                log.info("killed orphaned container %s", cid)
                killed += 1
            record.unlink(missing_ok=True)
        return killed

    def _create_cgroup(self, spec: LaunchSpec) -> CgroupHandle | None:
        if self.cgroups is None:
            return None
        try:
            return self.cgroups.create(spec.container_id, spec.cpus, spec.mem_mb)
        except OSError as e:
            raise LaunchError(f"Failed to create cgroup: {e}") from None

    def _record(self, container: Container, cgroup: bool) -> None:
        try:
            start: float | None = psutil.Process(container.pid).create_time()
        except psutil.Error:
            start = None  # already gone: the reaper is about to forget it
        data = {"pid": container.pid, "start_time": start, "sandbox": str(container.sandbox)}
        path = self._meta / f"{container.container_id}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**data, "cgroup": cgroup}))
        os.replace(tmp, path)

    def _forget(self, container: Container) -> None:
        self._containers.pop(container.container_id, None)
        (self._meta / f"{container.container_id}.json").unlink(missing_ok=True)


def _environment(spec: LaunchSpec) -> dict[str, str]:
    env = {**os.environ, **spec.env}
    variables = (spec.command.get("environment") or {}).get("variables") or []
    if not isinstance(variables, list):
        raise LaunchError("CommandInfo.environment.variables must be a list")
    for i, var in enumerate(variables):
        name = var.get("name") if isinstance(var, dict) else None
        if not isinstance(name, str) or not name or "=" in name or "\0" in name:
            raise LaunchError(f"environment.variables[{i}]: invalid name {name!r}")
        if var.get("type", "VALUE") not in ("VALUE", "UNKNOWN"):
            raise LaunchError(f"environment variable '{name}': only VALUE variables are supported")
        value = var.get("value", "")
        if not isinstance(value, str) or "\0" in value:
            raise LaunchError(f"environment variable '{name}': value must be a string")
        env[name] = value
    return env


async def _spawn(
    argv: list[str],
    executable: str | None,
    env: dict[str, str],
    sandbox: Path,
    cgroup: CgroupHandle | None,
    user: tuple[int, int, list[int]] | None,
) -> asyncio.subprocess.Process:
    """Start the process, in its cgroup before it runs any task code.

    Shell commands join through a tiny ``sh`` prelude, so the spawn keeps Python's fast
    ``vfork`` path; other commands (exact argv, ``--switch_user``) join in a ``preexec_fn``,
    which costs a full ``fork`` (a few ms of event loop time per launch).
    """
    join_files = cgroup.procs_files() if cgroup is not None else []
    if join_files and user is None and executable is None and argv[:2] == [SHELL, "-c"]:
        argv = [SHELL, "-c", _JOIN, "roost-join", *map(str, join_files), "--", *argv]
        join_files = []
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
    fds: list[int] = []
    try:
        for name in ("stdout", "stderr"):
            fds.append(os.open(sandbox / name, flags, 0o644))
            if user is not None:
                os.chown(sandbox / name, user[0], user[1])
        out, err = fds
        join = [os.open(f, os.O_WRONLY | os.O_CLOEXEC) for f in join_files]
        fds.extend(join)
        return await asyncio.create_subprocess_exec(
            *argv,
            executable=executable,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=sandbox,
            env=env,
            start_new_session=True,
            preexec_fn=preexec(join, user) if join or user else None,
        )
    except (OSError, ValueError, subprocess.SubprocessError) as e:
        what = e.filename if isinstance(e, OSError) and e.filename else executable or argv[0]
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise LaunchError(f"Failed to execute '{what}': {reason}") from None
    finally:
        for fd in fds:
            os.close(fd)


def _kill_recorded(pid: int, start_time: float | None) -> bool:
    """SIGKILL a recorded process group unless its pid now belongs to someone else."""
    if pid <= 1:
        return False  # killpg(0) would be our own group
    try:
        proc = psutil.Process(pid)
        if start_time is None or abs(proc.create_time() - start_time) > 0.01:
            return False  # pid reused: Linux never reuses a pid while its group lives
    except psutil.NoSuchProcess:
        pass  # leader gone; its group (if any members remain) still owns the id
    try:
        os.killpg(pid, signal.SIGKILL)
        return True
    except (ProcessLookupError, PermissionError):
        return False
