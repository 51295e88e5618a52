"""The documented curl flow (reference §9.1) against a real ``roost up`` subprocess.

Everything goes through the real ``curl`` binary, exactly as a user types it:
``curl -i -H 'Content-Type: application/json' -d@app.json localhost:8080/v2/apps``
with the documented ``app.json``. The task must run, show in the master's
``/master/state``, be replaced after its command exits (launch backoff), and SIGTERM must
stop ``roost up`` cleanly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from roost.testing.processes import RoostProcess, free_port, wait_until

pytestmark = pytest.mark.slow

HELLO = {
    "id": "hello2",
    "cmd": "echo hello; sleep 10",
    "mem": 16,
    "cpus": 0.1,
    "instances": 1,
    "disk": 0.0,
    "ports": [0],
}
SHORT = {**HELLO, "id": "hello-short", "cmd": "echo hello; sleep 2"}
DEFAULT_BACKOFF_SECONDS = 1.0


@dataclass
class Response:
    status_line: str
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Up:
    """A running ``roost up`` and a ``curl`` that talks to it from ``cwd``."""

    process: RoostProcess
    marathon_port: int
    cwd: Path

    def curl(self, *args: str) -> str:
        curl = shutil.which("curl")
        assert curl is not None, "curl is not installed (./scripts/test installs it)"
        done = subprocess.run(
            [curl, "--silent", "--show-error", *args],
            cwd=self.cwd,
            capture_output=True,
            timeout=30,
        )
        assert done.returncode == 0, f"curl {args} failed: {done.stderr!r}"
        # bytes, decoded by hand: text mode would turn the headers' CRLF into LF
        return done.stdout.decode()

    def curl_i(self, *args: str) -> Response:
        """``curl -i``: the status line, headers (lower-cased names) and body."""
        raw = self.curl("-i", *args)
        head, _, body = raw.partition("\r\n\r\n")
        while head.startswith("HTTP/1.1 100"):
            head, _, body = body.partition("\r\n\r\n")
        status_line, *lines = head.split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
        return Response(status_line, headers, body)

    def marathon(self, path: str) -> Any:
        return json.loads(self.curl(f"localhost:{self.marathon_port}{path}"))

    def master_state(self) -> Any:
        return json.loads(self.curl(f"localhost:{self.process.port}/master/state"))

    def post_app(self, app: dict[str, Any]) -> Response:
        (self.cwd / "app.json").write_text(json.dumps(app))
        return self.curl_i(
            "-H",
            "Content-Type: application/json",
            "-d@app.json",
            f"localhost:{self.marathon_port}/v2/apps",
        )

    def tasks(self, app_id: str) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = self.marathon(f"/v2/apps/{app_id}")["app"]["tasks"]
        return tasks


def start_up(tmp_path: Path) -> Up:
    """``roost up`` on fresh free ports, returned once its marathon serves.

    Readiness is "roost is up" in our own log (printed after marathon is listening), not an
    answer on the port: other test runs on this machine pick free ports too, and a port can
    be taken between ``free_port`` and our bind. An attempt that exits early is retried on
    new ports; one that hangs fails the test.
    """
    log = ""
    for attempt in range(3):
        work = tmp_path / f"attempt-{attempt}"
        up = _try_up(work)
        if up is not None:
            return up
        log = (work / "up.log").read_text()
    raise RuntimeError(f"roost up exited early three times; last log:\n{log[-3000:]}")


def _try_up(work: Path) -> Up | None:
    work.mkdir(parents=True)
    mport, aport, port = free_port(), free_port(), free_port()
    args = ["up", "--work-dir", str(work / ".roost"), "--resources", "cpus:2;mem:1024"]
    args += ["--master-port", str(mport), "--agent-port", str(aport)]
    args += ["--marathon-port", str(port)]
    process = RoostProcess(args, mport, work / "up.log")

    def exited() -> bool:
        return process.proc is not None and process.proc.poll() is not None

    try:
        process.start()
        wait_until(lambda: exited() or "roost is up" in process.log.read_text(), timeout=30)
    except RuntimeError:  # exited before the master answered
        return None
    except TimeoutError:
        process.terminate()
        raise
    return None if exited() else Up(process, port, work)


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    started = start_up(tmp_path)
    try:
        yield started
    finally:
        started.process.terminate()


def running(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t for t in tasks if t["state"] == "TASK_RUNNING"]


def master_tasks(state: dict[str, Any], key: str = "tasks") -> dict[str, dict[str, Any]]:
    return {t["id"]: t for f in state["frameworks"] for t in f[key]}


def assert_clean_exit(up: Up) -> None:
    assert up.process.terminate() == 0
    log = up.process.log.read_text()
    assert "roost is up" in log
    assert "Traceback" not in log, log[-3000:]


def test_curl_post_of_documented_app_json_runs_hello2_and_sigterm_exits_cleanly(up: Up) -> None:
    r = up.post_app(HELLO)
    assert r.status_line == "HTTP/1.1 201 Created", r
    assert r.headers["location"] == f"http://localhost:{up.marathon_port}/v2/apps/hello2"
    deployment = r.headers["marathon-deployment-id"]
    body = r.json()
    assert body["id"] == "/hello2"
    assert body["deployments"] == [{"id": deployment}]
    assert body["cmd"] == "echo hello; sleep 10" and body["mem"] == 16.0

    tasks: list[dict[str, Any]] = []

    def hello_running() -> bool:
        tasks[:] = running(up.tasks("hello2"))
        return bool(tasks)

    wait_until(hello_running, timeout=30)
    task = tasks[0]
    assert task["id"].startswith("hello2.") and task["appId"] == "/hello2"
    in_master = master_tasks(up.master_state())
    assert in_master[task["id"]]["state"] == "TASK_RUNNING"
    assert in_master[task["id"]]["name"] == "hello2"
    sandbox = f"agent/slaves/*/frameworks/*/executors/{task['id']}/runs/*/stdout"
    wait_until(lambda: any(p.read_text() == "hello\n" for p in up.cwd.glob(f".roost/{sandbox}")))

    info = up.marathon("/v2/info")
    assert info["name"] == "marathon"
    assert info["http_config"]["http_port"] == up.marathon_port
    assert task["id"] in {t["id"] for t in up.marathon("/v2/tasks")["tasks"]}
    assert isinstance(up.marathon("/v2/queue")["queue"], list)
    wait_until(lambda: up.marathon("/v2/deployments") == [], timeout=30)
    ping = up.curl_i(f"localhost:{up.marathon_port}/ping")
    assert ping.status_line == "HTTP/1.1 200 OK" and ping.body == "pong"
    assert ping.headers["content-type"].startswith("text/plain")
    assert up.marathon("/metrics")["gauges"]["marathon.apps"]["value"] == 1

    assert_clean_exit(up)


def test_short_app_gets_a_new_task_after_its_command_exits(up: Up) -> None:
    r = up.post_app(SHORT)
    assert r.status_line == "HTTP/1.1 201 Created", r
    assert r.json()["id"] == "/hello-short"
    first: list[str] = []

    def started() -> bool:
        first[:] = [t["id"] for t in running(up.tasks("hello-short"))]
        return bool(first)

    wait_until(started, timeout=30)
    replacements: list[dict[str, Any]] = []

    def replaced() -> bool:
        replacements[:] = [t for t in up.tasks("hello-short") if t["id"] != first[0]]
        return bool(replacements)

    wait_until(replaced, timeout=30)
    assert replacements[0]["id"].startswith("hello-short.")

    finished = master_tasks(up.master_state(), "completed_tasks")[first[0]]
    assert finished["state"] == "TASK_FINISHED"
    exited_at = max(s["timestamp"] for s in finished["statuses"])
    staged_at = datetime.fromisoformat(replacements[0]["stagedAt"].replace("Z", "+00:00"))
    # the relaunch waited for the launch delay (backoffSeconds, 1 s by default) after the exit
    assert staged_at.timestamp() - exited_at >= DEFAULT_BACKOFF_SECONDS - 0.1

    assert_clean_exit(up)
