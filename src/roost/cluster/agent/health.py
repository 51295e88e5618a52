"""Mesos-native health checks of command tasks (``src/checks/health_checker.cpp``).

:class:`HealthCheck` is a validated ``TaskInfo.health_check`` with upstream's defaults; its
validation is ``validateHealthCheck`` of ``src/common/validation.cpp`` and the master uses it
to answer TASK_ERROR. :class:`HealthState` is the checker's pure state machine, driven by an
injected clock; :class:`HealthChecker` runs probes on a schedule (injected ``sleep``) and
reports :class:`HealthUpdate` values, which the command executor turns into status updates.

Probes, as ``docs/health-checks.md`` describes them: COMMAND runs a ``CommandInfo`` and passes
on exit status 0; HTTP(S) sends ``GET scheme://127.0.0.1:port/path`` (redirects followed,
certificates not verified, like ``curl -L -k``) and passes on 200-399, ``statuses`` being
ignored as by the built-in executors; TCP passes when a connection opens. A probe that does not
finish within ``timeout_seconds`` (0: no limit) fails, and a COMMAND probe's process group is
killed.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from roost.cluster.agent.errors import AgentError
from roost.core.clock import Clock

log = logging.getLogger(__name__)

TYPES = ("COMMAND", "HTTP", "TCP")
#: Longest delay, interval, timeout or grace period accepted (Mesos' Duration caps near 292 y).
MAX_SECONDS = 1e9
_SECONDS = ("delay_seconds", "interval_seconds", "timeout_seconds", "grace_period_seconds")
_HOSTS = {"IPv4": "127.0.0.1", "IPv6": "::1"}  # NetworkInfo.Protocol of HTTP and TCP checks


class InvalidHealthCheck(AgentError):
    """``TaskInfo.health_check`` is malformed; ``message`` is Mesos' wording where it has one."""


class HealthCheckFailed(AgentError):
    """One probe failed; ``message`` says why (logged, as Mesos logs it)."""


@dataclass(frozen=True)
class HealthCheck:
    """A valid Mesos ``HealthCheck`` with the defaults of ``include/mesos/v1/mesos.proto``.

    ``timeout_seconds`` 0 means no timeout, as upstream.
    """

    type: str
    command: dict[str, Any] | None = None
    scheme: str = "http"
    host: str = "127.0.0.1"
    port: int = 0
    path: str = ""
    delay_seconds: float = 15.0
    interval_seconds: float = 10.0
    timeout_seconds: float = 20.0
    consecutive_failures: int = 3
    grace_period_seconds: float = 10.0

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.path}"

    @classmethod
    def from_json(cls, obj: Any) -> HealthCheck:
        """Validate and parse; raises :class:`InvalidHealthCheck`."""
        if not isinstance(obj, dict):
            raise InvalidHealthCheck("HealthCheck must be an object")
        kind = obj.get("type")
        if kind is None:
            raise InvalidHealthCheck("HealthCheck must specify 'type'")
        if kind not in TYPES:
            raise InvalidHealthCheck(f"'{kind}' is not a valid health check type")
        fields: dict[str, Any] = {"type": kind}
        if kind == "COMMAND":
            fields["command"] = _command(obj.get("command"))
        elif kind == "HTTP":
            http = obj.get("http")
            if not isinstance(http, dict):
                raise InvalidHealthCheck("Expecting 'http' to be set for HTTP health check")
            scheme, path = http.get("scheme", "http"), http.get("path", "")
            if scheme not in ("http", "https"):
                raise InvalidHealthCheck(f"Unsupported HTTP health check scheme: '{scheme}'")
            if not isinstance(path, str) or (path and not path.startswith("/")):
                raise InvalidHealthCheck(
                    f"The path '{path}' of HTTP health check must start with '/'"
                )
            fields.update(scheme=scheme, path=path, **_endpoint(http, "http"))
        else:
            tcp = obj.get("tcp")
            if not isinstance(tcp, dict):
                raise InvalidHealthCheck("Expecting 'tcp' to be set for TCP health check")
            fields.update(_endpoint(tcp, "tcp"))
        for name in _SECONDS:
            fields[name] = _seconds(obj, name, getattr(cls, name))
        failures = _integer(obj.get("consecutive_failures", 3))
        if failures is None or not 0 <= failures < 2**32:
            raise InvalidHealthCheck(
                "Expecting 'consecutive_failures' to be a non-negative integer"
            )
        return cls(**fields, consecutive_failures=failures)


def _integer(value: Any) -> int | None:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _seconds(obj: dict[str, Any], name: str, default: float) -> float:
    value = obj.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidHealthCheck(f"Expecting '{name}' to be a number")
    if value < 0:
        raise InvalidHealthCheck(f"Expecting '{name}' to be non-negative")
    if value > MAX_SECONDS:
        raise InvalidHealthCheck(f"Expecting '{name}' to be at most {MAX_SECONDS:g} seconds")
    return float(value)


def _endpoint(info: dict[str, Any], what: str) -> dict[str, Any]:
    port, protocol = _integer(info.get("port")), info.get("protocol", "IPv4")
    if port is None or not 0 < port < 65536:
        raise InvalidHealthCheck(f"Expecting '{what}.port' to be a port number (1-65535)")
    if protocol not in _HOSTS:
        raise InvalidHealthCheck(f"Unsupported {what.upper()} health check protocol: '{protocol}'")
    return {"port": port, "host": _HOSTS[protocol]}


def _command(cmd: Any) -> dict[str, Any]:
    if not isinstance(cmd, dict):
        raise InvalidHealthCheck("Expecting 'command' to be set for COMMAND health check")
    shell, value, args = cmd.get("shell", True), cmd.get("value"), cmd.get("arguments", [])
    if isinstance(shell, bool) and (not isinstance(value, str) or not value.strip()):
        kind = "'shell command'" if shell else "'executable path'"
        raise InvalidHealthCheck(f"Command health check must contain {kind}")
    try:
        if not isinstance(shell, bool):
            raise ValueError("'shell' must be a boolean")
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise ValueError("'arguments' must be a list of strings")
        command_environment(cmd)
    except ValueError as e:
        raise InvalidHealthCheck(f"Health check's `CommandInfo` is invalid: {e}") from None
    return cmd


def command_environment(cmd: dict[str, Any]) -> dict[str, str]:
    """``CommandInfo.environment.variables`` as a dict; ``ValueError`` when malformed."""
    env = cmd.get("environment") or {}
    variables = env.get("variables", []) if isinstance(env, dict) else None
    if not isinstance(variables, list):
        raise ValueError("'environment.variables' must be a list")
    out: dict[str, str] = {}
    for var in variables:
        name = var.get("name") if isinstance(var, dict) else None
        value = var.get("value", "") if isinstance(var, dict) else None
        if not isinstance(name, str) or not name or "=" in name or "\0" in name:
            raise ValueError(f"invalid environment variable name {name!r}")
        if not isinstance(value, str) or "\0" in value:
            raise ValueError(f"environment variable '{name}' must have a string value")
        out[name] = value
    return out


@dataclass(frozen=True)
class HealthUpdate:
    """Mesos' ``TaskHealthStatus``: what the executor reports, and whether to kill the task."""

    healthy: bool
    consecutive_failures: int = 0
    kill_task: bool = False


class HealthState:
    """``HealthChecker::success``/``failure`` as a pure state machine.

    The first success, and the first success after failures, report healthy. Failures are
    ignored while the grace period (from the checker's start, i.e. the task's launch) lasts and
    the task has not yet passed once; every other failure reports unhealthy, with
    ``kill_task`` once ``consecutive_failures`` failures in a row were counted.
    """

    def __init__(self, check: HealthCheck, clock: Clock) -> None:
        self._check = check
        self._clock = clock
        self._start = clock.monotonic()
        self.initializing = True  # no success yet
        self.consecutive_failures = 0

    @property
    def in_grace_period(self) -> bool:
        grace = self._check.grace_period_seconds
        elapsed = self._clock.monotonic() - self._start
        return self.initializing and grace > 0 and elapsed <= grace

    def success(self) -> HealthUpdate | None:
        update = None
        if self.initializing or self.consecutive_failures > 0:
            update = HealthUpdate(healthy=True)
            self.initializing = False
        self.consecutive_failures = 0
        return update

    def failure(self) -> HealthUpdate | None:
        if self.in_grace_period:
            return None
        self.consecutive_failures += 1
        n = self.consecutive_failures
        return HealthUpdate(False, n, kill_task=n >= self._check.consecutive_failures)


Probe = Callable[[], Awaitable[None]]
"""One check attempt: returns when it passes, raises :class:`HealthCheckFailed` otherwise."""


class HealthChecker:
    """Runs ``probe`` after ``delay_seconds``, then ``interval_seconds`` after each attempt.

    ``on_update`` gets every :class:`HealthUpdate` the state machine produces; after one with
    ``kill_task`` the checker stops (Mesos' executor pauses it when it starts the kill).
    ``active`` is asked before each attempt and before each report: once it is false the
    checker stops without reporting (Mesos ignores results for killed or reaped tasks).
    """

    def __init__(
        self,
        check: HealthCheck,
        probe: Probe,
        on_update: Callable[[HealthUpdate], None],
        *,
        clock: Clock,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        active: Callable[[], bool] = lambda: True,
        task_id: str = "",
    ) -> None:
        self.check = check
        self.state = HealthState(check, clock)
        self.killed_task = False  # it reported kill_task: the executor killed the task for it
        self._probe = probe
        self._on_update = on_update
        self._sleep = sleep
        self._active = active
        self._task_id = task_id

    async def run(self) -> None:
        await self._sleep(self.check.delay_seconds)
        while self._active():
            update = await self.check_once()
            if not self._active():
                return
            if update is not None:
                self.killed_task = update.kill_task
                self._on_update(update)
                if self.killed_task:
                    return
            await self._sleep(self.check.interval_seconds)

    async def check_once(self) -> HealthUpdate | None:
        """One attempt, bounded by ``timeout_seconds``; the state machine's verdict on it."""
        timeout = self.check.timeout_seconds or None
        try:
            async with asyncio.timeout(timeout):
                await self._probe()
        except HealthCheckFailed as e:
            reason = e.message
        except TimeoutError:
            reason = f"the check has not returned after {timeout:g} seconds; aborting"
        else:
            return self.state.success()
        update = self.state.failure()
        log.warning(
            "%s health check for task '%s' failed%s: %s",
            self.check.type,
            self._task_id,
            "" if update else " (in grace period)",
            reason,
        )
        return update
