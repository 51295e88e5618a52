"""The probes of Mesos health checks: COMMAND runs a ``CommandInfo`` as its task would (same
argv rules, user and environment, own process group, killed on timeout) and passes on exit 0;
HTTP(S) passes on 200-399 (redirects followed, certificates not verified); TCP passes when a
connection opens. A failed probe raises :class:`~roost.cluster.agent.health.HealthCheckFailed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx

from roost.cluster.agent.errors import LaunchError
from roost.cluster.agent.health import HealthCheck, HealthCheckFailed, Probe, command_environment
from roost.cluster.agent.process_spec import command_argv, command_user, preexec


def make_probe(
    check: HealthCheck, *, env: dict[str, str], cwd: Path, user: str | None, output: Path
) -> Probe:
    """The probe of ``check``; COMMAND runs in ``cwd`` with ``env`` as ``user``."""
    if check.type == "COMMAND":
        assert check.command is not None
        return command_probe(check.command, env=env, cwd=cwd, user=user, output=output)
    if check.type == "HTTP":
        return http_probe(check.url)
    return tcp_probe(check.host, check.port)


def command_probe(
    command: dict[str, Any], *, env: dict[str, str], cwd: Path, user: str | None, output: Path
) -> Probe:
    """Run ``command`` in its own process group, its output appended to ``output``.

    The environment is ``env`` plus the command's own variables (Mesos: the executor's
    environment plus ``CommandInfo.environment``). The process group is killed when the probe
    ends, is cancelled or times out, so nothing the check started outlives it.
    """

    async def probe() -> None:
        try:
            argv, executable = command_argv(command)
            ids = command_user({"user": user}) if user else None
            full_env = {**env, **command_environment(command)}
        except LaunchError as e:
            raise HealthCheckFailed(e.message) from None
        except ValueError as e:
            raise HealthCheckFailed(str(e)) from None
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                executable=executable,
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=fd,
                cwd=cwd,
                env=full_env,
                start_new_session=True,
                preexec_fn=preexec([], ids) if ids else None,
            )
        except (OSError, ValueError, subprocess.SubprocessError) as e:
            raise HealthCheckFailed(f"Failed to create subprocess: {e}") from None
        finally:
            os.close(fd)
        try:
            code = await proc.wait()
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        if code > 0:
            raise HealthCheckFailed(f"Command exited with status {code}")
        if code < 0:
            raise HealthCheckFailed(f"Command terminated with signal {_signal_name(-code)}")

    return probe


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # real-time signals have no name
        return str(number)


def http_probe(url: str) -> Probe:
    """``GET url``, following redirects, not verifying certificates; 200-399 passes."""

    async def probe() -> None:
        try:
            async with (
                httpx.AsyncClient(verify=False, follow_redirects=True, trust_env=False) as client,
                client.stream("GET", url, timeout=None) as resp,
            ):
                code, phrase = resp.status_code, resp.reason_phrase
        except httpx.HTTPError as e:
            raise HealthCheckFailed(f"GET {url} failed: {e or type(e).__name__}") from None
        if not 200 <= code < 400:
            raise HealthCheckFailed(f"Unexpected HTTP response code: {code} {phrase}".rstrip())

    return probe


def tcp_probe(host: str, port: int) -> Probe:
    """Open (and close) a TCP connection to ``host:port``."""

    async def probe() -> None:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError as e:
            raise HealthCheckFailed(f"TCP connection failed: {e.strerror or e}") from None
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    return probe
