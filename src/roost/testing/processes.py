"""Real roost processes for tests and demos: start ``roost master`` / ``roost agent`` /
``roost up`` as subprocesses on free loopback ports, wait until they serve, SIGKILL and
restart them (fault injection), and clean up every process group they leave behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RoostProcess:
    """One ``python -m roost <command> ...`` subprocess in its own process group."""

    def __init__(
        self, args: list[str], port: int, log: Path, env: dict[str, str] | None = None
    ) -> None:
        self.args = args
        self.port = port
        self.log = log
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self, wait: float = 30.0) -> RoostProcess:
        env = dict(os.environ, **(self.env or {}))
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "roost", *self.args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self.wait_healthy(wait)
        return self

    def wait_healthy(self, wait: float = 30.0) -> None:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"roost {self.args[0]} exited early:\n{self.log.read_text()[-3000:]}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.05)
        raise TimeoutError(
            f"roost {self.args[0]} did not become healthy:\n{self.log.read_text()[-3000:]}"
        )

    def kill(self) -> None:
        """SIGKILL the process only (its tasks, in their own sessions, live on)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def terminate(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait: a clean shutdown."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=10)


def master_process(work_dir: Path, *extra: str, port: int | None = None) -> RoostProcess:
    port = port or free_port()
    work_dir.mkdir(parents=True, exist_ok=True)
    args = ["master", "--port", str(port), "--work-dir", str(work_dir), *extra]
    return RoostProcess(args, port, work_dir / "master.log")


def agent_process(
    master: str, work_dir: Path, *extra: str, port: int | None = None
) -> RoostProcess:
    port = port or free_port()
    work_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "agent",
        "--master",
        master,
        "--ip",
        "127.0.0.1",
        "--hostname",
        "127.0.0.1",
        "--port",
        str(port),
        "--work-dir",
        str(work_dir),
        *extra,
    ]
    return RoostProcess(args, port, work_dir / "agent.log")


def marathon_process(
    master: str, work_dir: Path, *extra: str, port: int | None = None
) -> RoostProcess:
    """``roost marathon`` against ``master`` with its SQLite store in ``work_dir``."""
    port = port or free_port()
    work_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "marathon",
        "--master",
        master,
        "--port",
        str(port),
        "--store",
        f"sqlite:///{work_dir / 'marathon.db'}",
        *extra,
    ]
    return RoostProcess(args, port, work_dir / "marathon.log")


def wait_until(predicate: object, timeout: float = 20.0, interval: float = 0.05) -> None:
    """Poll ``predicate()`` until it is truthy; raise TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = predicate()  # type: ignore[operator]
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as e:
            last = e
        if last:
            return
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout} s (last: {last!r})")
