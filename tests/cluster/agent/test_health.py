"""Health checks (``roost.cluster.agent.health``): validation, the state machine on a manual
clock, the runner with an injected sleep, and the three probes against real sockets and
processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from roost.cluster.agent.health import (
    HealthCheck,
    HealthChecker,
    HealthCheckFailed,
    HealthState,
    HealthUpdate,
    InvalidHealthCheck,
)
from roost.cluster.agent.health_probes import command_probe, http_probe, tcp_probe
from roost.core.clock import ManualClock

TCP = {"type": "TCP", "tcp": {"port": 8080}}


def check(**over: Any) -> HealthCheck:
    return HealthCheck.from_json({**TCP, **over})


async def eventually(predicate: Any, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


# -- validation ---------------------------------------------------------------------------------


def test_health_check_takes_the_mesos_defaults() -> None:
    hc = HealthCheck.from_json(TCP)
    assert (hc.delay_seconds, hc.interval_seconds, hc.timeout_seconds) == (15.0, 10.0, 20.0)
    assert (hc.consecutive_failures, hc.grace_period_seconds) == (3, 10.0)
    assert (hc.host, hc.port) == ("127.0.0.1", 8080)


@pytest.mark.parametrize(
    ("http", "url"),
    [
        ({"port": 80}, "http://127.0.0.1:80"),
        ({"port": 81, "path": "/health", "scheme": "https"}, "https://127.0.0.1:81/health"),
        ({"port": 82, "path": "/h", "protocol": "IPv6"}, "http://[::1]:82/h"),
    ],
)
def test_http_health_check_targets_the_loopback_address(http: dict, url: str) -> None:
    assert HealthCheck.from_json({"type": "HTTP", "http": http}).url == url


def test_zero_timeout_is_accepted_and_means_no_timeout() -> None:
    assert check(timeout_seconds=0).timeout_seconds == 0.0


def test_command_health_check_keeps_its_command_info() -> None:
    cmd = {"shell": False, "value": "/bin/true", "arguments": ["true"]}
    assert HealthCheck.from_json({"type": "COMMAND", "command": cmd}).command == cmd


INVALID = [
    ([], "HealthCheck must be an object"),
    ({}, "HealthCheck must specify 'type'"),
    ({"type": "UNKNOWN"}, "'UNKNOWN' is not a valid health check type"),
    ({"type": "GRPC"}, "'GRPC' is not a valid health check type"),
    ({"type": "COMMAND"}, "Expecting 'command' to be set for COMMAND health check"),
    ({"type": "COMMAND", "command": {}}, "Command health check must contain 'shell command'"),
    (
        {"type": "COMMAND", "command": {"shell": False}},
        "Command health check must contain 'executable path'",
    ),
    (
        {"type": "COMMAND", "command": {"value": "true", "shell": "yes"}},
        "Health check's `CommandInfo` is invalid: 'shell' must be a boolean",
    ),
    (
        {"type": "COMMAND", "command": {"value": "x", "shell": False, "arguments": [1]}},
        "Health check's `CommandInfo` is invalid: 'arguments' must be a list of strings",
    ),
    (
        {"type": "COMMAND", "command": {"value": "x", "environment": {"variables": [{}]}}},
        "Health check's `CommandInfo` is invalid: invalid environment variable name None",
    ),
    ({"type": "HTTP"}, "Expecting 'http' to be set for HTTP health check"),
    ({"type": "HTTP", "http": {}}, "Expecting 'http.port' to be a port number (1-65535)"),
    ({"type": "HTTP", "http": {"port": 0}}, "Expecting 'http.port' to be a port number (1-65535)"),
    (
        {"type": "HTTP", "http": {"port": "80"}},
        "Expecting 'http.port' to be a port number (1-65535)",
    ),
    (
        {"type": "HTTP", "http": {"port": 80, "scheme": "ftp"}},
        "Unsupported HTTP health check scheme: 'ftp'",
    ),
    (
        {"type": "HTTP", "http": {"port": 80, "path": "health"}},
        "The path 'health' of HTTP health check must start with '/'",
    ),
    (
        {"type": "HTTP", "http": {"port": 80, "protocol": "IPX"}},
        "Unsupported HTTP health check protocol: 'IPX'",
    ),
    ({"type": "TCP"}, "Expecting 'tcp' to be set for TCP health check"),
    ({"type": "TCP", "tcp": {"port": 70000}}, "Expecting 'tcp.port' to be a port number (1-65535)"),
    ({**TCP, "delay_seconds": -1}, "Expecting 'delay_seconds' to be non-negative"),
    ({**TCP, "interval_seconds": -0.5}, "Expecting 'interval_seconds' to be non-negative"),
    ({**TCP, "timeout_seconds": -1}, "Expecting 'timeout_seconds' to be non-negative"),
    ({**TCP, "grace_period_seconds": -3}, "Expecting 'grace_period_seconds' to be non-negative"),
    ({**TCP, "interval_seconds": "10"}, "Expecting 'interval_seconds' to be a number"),
    ({**TCP, "delay_seconds": True}, "Expecting 'delay_seconds' to be a number"),
    ({**TCP, "delay_seconds": float("nan")}, "Expecting 'delay_seconds' to be a number"),
    ({**TCP, "timeout_seconds": 1e12}, "Expecting 'timeout_seconds' to be at most 1e+09 seconds"),
    (
        {**TCP, "consecutive_failures": -1},
        "Expecting 'consecutive_failures' to be a non-negative integer",
    ),
    (
        {**TCP, "consecutive_failures": 1.5},
        "Expecting 'consecutive_failures' to be a non-negative integer",
    ),
]


@pytest.mark.parametrize(("spec", "message"), INVALID)
def test_malformed_health_check_is_rejected_with_mesos_wording(spec: Any, message: str) -> None:
    with pytest.raises(InvalidHealthCheck) as e:
        HealthCheck.from_json(spec)
    assert e.value.message == message


# -- the state machine --------------------------------------------------------------------------

OK, FAIL = True, False
HEALTHY = HealthUpdate(healthy=True)


def unhealthy(n: int, kill: bool = False) -> HealthUpdate:
    return HealthUpdate(healthy=False, consecutive_failures=n, kill_task=kill)


SCENARIOS = [
    pytest.param({}, [(0, OK), (1, OK), (2, OK)], [HEALTHY, None, None], id="first-success-only"),
    pytest.param(
        {"grace_period_seconds": 10},
        [(0, FAIL), (5, FAIL), (10, FAIL), (11, FAIL)],
        [None, None, None, unhealthy(1)],
        id="grace-ignores-failures-until-it-ends",
    ),
    pytest.param(
        {"grace_period_seconds": 10},
        [(0, FAIL), (3, OK), (4, FAIL)],
        [None, HEALTHY, unhealthy(1)],
        id="grace-ends-with-first-success",
    ),
    pytest.param(
        {"grace_period_seconds": 0},
        [(0, FAIL)],
        [unhealthy(1)],
        id="zero-grace-counts-at-once",
    ),
    pytest.param(
        {"grace_period_seconds": 0, "consecutive_failures": 3},
        [(0, OK), (1, FAIL), (2, FAIL), (3, FAIL)],
        [HEALTHY, unhealthy(1), unhealthy(2), unhealthy(3, kill=True)],
        id="every-failure-reported-then-kill",
    ),
    pytest.param(
        {"grace_period_seconds": 0, "consecutive_failures": 3},
        [(0, OK), (1, FAIL), (2, FAIL), (3, OK), (4, OK), (5, FAIL)],
        [HEALTHY, unhealthy(1), unhealthy(2), HEALTHY, None, unhealthy(1)],
        id="success-after-failures-resets-the-count",
    ),
    pytest.param(
        {"grace_period_seconds": 2, "consecutive_failures": 2},
        [(0, FAIL), (3, FAIL), (4, FAIL)],
        [None, unhealthy(1), unhealthy(2, kill=True)],
        id="never-healthy-task-is-killed-after-grace",
    ),
    pytest.param(
        {"grace_period_seconds": 0, "consecutive_failures": 0},
        [(0, FAIL)],
        [unhealthy(1, kill=True)],
        id="zero-consecutive-failures-kills-on-first-counted-failure",
    ),
    pytest.param(
        {"grace_period_seconds": 0},
        [(0, FAIL), (1, OK)],
        [unhealthy(1), HEALTHY],
        id="first-success-after-failures-reports-healthy",
    ),
]


@pytest.mark.parametrize(("spec", "steps", "expected"), SCENARIOS)
def test_health_state_transitions(
    spec: dict, steps: list[tuple[float, bool]], expected: list[HealthUpdate | None]
) -> None:
    clock = ManualClock()
    state = HealthState(check(**spec), clock)
    start, got = clock.monotonic(), []
    for at, ok in steps:
        clock.advance(start + at - clock.monotonic())
        got.append(state.success() if ok else state.failure())
    assert got == expected


def test_grace_period_includes_its_last_instant() -> None:
    clock = ManualClock()
    state = HealthState(check(grace_period_seconds=4), clock)
    clock.advance(4)
    assert state.in_grace_period
    assert state.failure() is None
    clock.advance(0.001)
    assert not state.in_grace_period


# -- the runner ---------------------------------------------------------------------------------


class Script:
    """A probe that plays a list of outcomes, then blocks; and a sleep that moves the clock."""

    def __init__(self, clock: ManualClock, outcomes: list[bool]) -> None:
        self.clock = clock
        self.outcomes = list(outcomes)
        self.sleeps: list[float] = []
        self.blocked = False

    async def probe(self) -> None:
        if not self.outcomes:
            self.blocked = True
            await asyncio.Event().wait()
        if not self.outcomes.pop(0):
            raise HealthCheckFailed("down")

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0)


async def play(checker: HealthChecker, script: Script) -> bool:
    """Run ``checker`` until it stops or the script is over; ``True`` if it stopped itself."""
    runner = asyncio.create_task(checker.run())
    for _ in range(1000):
        if runner.done() or script.blocked:
            break
        await asyncio.sleep(0)
    stopped = runner.done()
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    return stopped


async def test_checker_waits_the_delay_then_the_interval_between_checks() -> None:
    clock = ManualClock()
    script = Script(clock, [OK, OK, FAIL])
    updates: list[HealthUpdate] = []
    hc = check(delay_seconds=5, interval_seconds=2, grace_period_seconds=0, timeout_seconds=0)
    checker = HealthChecker(hc, script.probe, updates.append, clock=clock, sleep=script.sleep)
    assert not await play(checker, script)
    assert script.sleeps == [5, 2, 2, 2]
    assert updates == [HEALTHY, unhealthy(1)]


async def test_checker_kills_after_grace_and_consecutive_failures_and_stops() -> None:
    clock = ManualClock()
    script = Script(clock, [FAIL] * 10)
    updates: list[HealthUpdate] = []
    hc = check(
        delay_seconds=0,
        interval_seconds=3,
        grace_period_seconds=10,
        consecutive_failures=2,
        timeout_seconds=0,
    )
    checker = HealthChecker(hc, script.probe, updates.append, clock=clock, sleep=script.sleep)
    assert await play(checker, script)
    # Checks at t=0, 3, 6, 9 fall in the grace period; t=12 and t=15 count.
    assert updates == [unhealthy(1), unhealthy(2, kill=True)]
    assert checker.killed_task
    assert len(script.outcomes) == 10 - 6


async def test_checker_stops_silently_once_inactive() -> None:
    clock = ManualClock()
    live = [True]

    async def probe() -> None:
        live[0] = False  # e.g. the task was killed while this check ran
        raise HealthCheckFailed("down")

    updates: list[HealthUpdate] = []
    hc = check(delay_seconds=0, grace_period_seconds=0, timeout_seconds=0)
    checker = HealthChecker(
        hc,
        probe,
        updates.append,
        clock=clock,
        sleep=Script(clock, []).sleep,
        active=lambda: live[0],
    )
    await asyncio.wait_for(checker.run(), 1)
    assert updates == []
    assert not checker.killed_task


async def test_check_that_outlives_its_timeout_is_a_failure() -> None:
    clock = ManualClock()
    hc = check(grace_period_seconds=0, timeout_seconds=0.05)
    checker = HealthChecker(hc, asyncio.Event().wait, lambda u: None, clock=clock)
    assert await asyncio.wait_for(checker.check_once(), 2) == unhealthy(1)


# -- probes against real sockets and processes --------------------------------------------------

RESPONSES = {
    "/ok": "200 OK",
    "/not-modified": "304 Not Modified",
    "/redirect": "302 Found\r\nLocation: /ok",
    "/redirect-to-error": "301 Moved Permanently\r\nLocation: /error",
    "/error": "500 Internal Server Error",
}


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request = await reader.readline()
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    path = request.split()[1].decode() if request else "/"
    status = RESPONSES.get(path, "404 Not Found")
    writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    writer.close()


@pytest.fixture
async def web() -> AsyncIterator[int]:
    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize(
    ("path", "failure"),
    [
        ("/ok", None),
        ("/not-modified", None),
        ("/redirect", None),
        ("/error", "Unexpected HTTP response code: 500 Internal Server Error"),
        ("/redirect-to-error", "Unexpected HTTP response code: 500 Internal Server Error"),
        ("/missing", "Unexpected HTTP response code: 404 Not Found"),
    ],
)
async def test_http_probe_passes_on_200_to_399_after_redirects(
    web: int, path: str, failure: str | None
) -> None:
    probe = http_probe(f"http://127.0.0.1:{web}{path}")
    if failure is None:
        await probe()
    else:
        with pytest.raises(HealthCheckFailed) as e:
            await probe()
        assert e.value.message == failure


async def test_http_probe_fails_when_nothing_listens(free_port: int) -> None:
    with pytest.raises(HealthCheckFailed, match=r"GET http://127.0.0.1:\d+/ failed"):
        await http_probe(f"http://127.0.0.1:{free_port}/")()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
async def test_https_probe_does_not_verify_certificates(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    openssl = await asyncio.create_subprocess_exec(
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
        "/CN=self-signed", "-keyout", str(key), "-out", str(cert),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert await asyncio.wait_for(openssl.wait(), 60) == 0
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    server = await asyncio.start_server(_serve, "127.0.0.1", 0, ssl=ctx)
    try:
        await http_probe(f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/ok")()
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_tcp_probe_passes_when_a_connection_opens(web: int) -> None:
    await tcp_probe("127.0.0.1", web)()


async def test_tcp_probe_fails_when_nothing_listens(free_port: int) -> None:
    with pytest.raises(HealthCheckFailed, match="TCP connection failed"):
        await tcp_probe("127.0.0.1", free_port)()


def run_command(tmp_path: Path, command: dict, **env: str) -> Any:
    base = {"PATH": os.environ["PATH"], **env}
    return command_probe(command, env=base, cwd=tmp_path, user=None, output=tmp_path / "stderr")()


async def test_command_probe_runs_in_cwd_with_task_and_own_environment(tmp_path: Path) -> None:
    script = 'test "$PWD" = "$WHERE" && test "$TASK_VAR" = task && test "$OWN" = own'
    own = {"variables": [{"name": "OWN", "value": "own"}, {"name": "TASK_VAR", "value": "task"}]}
    await run_command(
        tmp_path, {"value": script, "environment": own}, WHERE=str(tmp_path), TASK_VAR="x"
    )


@pytest.mark.parametrize(
    ("command", "failure"),
    [
        ({"value": "exit 3"}, "Command exited with status 3"),
        ({"value": "kill -TERM $$"}, "Command terminated with signal SIGTERM"),
        (
            {"shell": False, "value": "/bin/sh", "arguments": ["sh", "-c", "exit 4"]},
            "Command exited with status 4",
        ),
    ],
)
async def test_command_probe_fails_on_nonzero_exit(
    tmp_path: Path, command: dict, failure: str
) -> None:
    with pytest.raises(HealthCheckFailed) as e:
        await run_command(tmp_path, command)
    assert e.value.message == failure


async def test_command_probe_fails_when_the_command_cannot_start(tmp_path: Path) -> None:
    with pytest.raises(HealthCheckFailed, match="Failed to create subprocess"):
        await run_command(tmp_path, {"shell": False, "value": str(tmp_path / "nope")})


async def test_command_probe_appends_its_output_to_the_sandbox_stderr(tmp_path: Path) -> None:
    (tmp_path / "stderr").write_text("task output\n")
    await run_command(tmp_path, {"value": "echo out; echo err >&2"})
    assert (tmp_path / "stderr").read_text() == "task output\nout\nerr\n"


async def test_command_check_past_its_timeout_fails_and_kills_its_process_group(
    tmp_path: Path,
) -> None:
    pidfile = tmp_path / "child.pid"
    command = {"value": f"sleep 60 & echo $! > {pidfile}; wait"}
    hc = HealthCheck.from_json(
        {"type": "COMMAND", "command": command, "timeout_seconds": 0.5, "grace_period_seconds": 0}
    )
    probe = command_probe(
        command,
        env={"PATH": os.environ["PATH"]},
        cwd=tmp_path,
        user=None,
        output=pidfile.parent / "err",
    )
    checker = HealthChecker(hc, probe, lambda u: None, clock=ManualClock())
    assert await asyncio.wait_for(checker.check_once(), 5) == unhealthy(1)
    child = int(pidfile.read_text())

    def gone() -> bool:
        try:
            return psutil.Process(child).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    await eventually(gone, timeout=5)
