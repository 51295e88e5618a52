"""``roost namerd --config namerd.yaml`` as a real process: it serves the file's namespaces,
binds through its namers, answers on its admin port and exits cleanly on SIGTERM; a bad file
stops it with the key path of the problem, exit 2 and no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from roost.testing.processes import RoostProcess, free_port

pytestmark = pytest.mark.slow


def test_a_configured_namerd_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "disco").mkdir()
    (tmp_path / "disco" / "web").write_text("127.0.0.1 8081\n")
    port, admin = free_port(), free_port()
    config = tmp_path / "namerd.yaml"
    config.write_text(
        f"""
admin: {{port: {admin}}}
storage:
  kind: io.l5d.inMemory
  namespaces: {{default: /svc => /#/io.l5d.fs}}
namers:
- {{kind: io.l5d.fs, rootDir: disco}}   # relative to this file
interfaces:
- {{kind: io.l5d.httpController, ip: 127.0.0.1, port: {port}}}
"""
    )
    # the process runs in this test's working directory: rootDir resolves next to the file
    proc = RoostProcess(["namerd", "--config", str(config)], port, tmp_path / "namerd.log")
    proc.start()
    try:
        assert proc.get("/api/1/dtabs").json() == ["default"]
        bound = httpx.get(f"{proc.url}/api/1/bind/default", params={"path": "/svc/web"}).json()
        assert bound["bound"]["id"] == "/#/io.l5d.fs/web"
        assert bound["bound"]["addr"]["addrs"] == [{"ip": "127.0.0.1", "port": 8081, "meta": {}}]
        assert httpx.get(f"http://127.0.0.1:{admin}/admin/ping").text == "pong"
    finally:
        code = proc.terminate()
    log = (tmp_path / "namerd.log").read_text()
    assert code == 0, log
    assert "Traceback" not in log
    assert f"namerd on http://127.0.0.1:{port}/api/1/dtabs" in log


def test_the_port_flag_wins_over_the_file(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "namerd.yaml"
    config.write_text("storage: {kind: io.l5d.inMemory, namespaces: {a: /a => /b}}\n")
    args = ["namerd", "--config", str(config), "--port", str(port)]
    proc = RoostProcess(args, port, tmp_path / "namerd.log").start()
    try:
        assert proc.get("/api/1/dtabs").json() == ["a"]
    finally:
        assert proc.terminate() == 0


BAD = [
    ("bogus: 1\n", "bogus: Extra inputs are not permitted"),
    ("namers:\n- kind: io.l5d.k8s\n", "namers[0]: Input tag 'io.l5d.k8s' found using 'kind' does not match"),
    ("interfaces:\n- {kind: io.l5d.thriftNameInterpreter}\n", "interfaces[0].kind: io.l5d.thriftNameInterpreter is not supported by roost namerd"),
    ("interfaces:\n- {kind: io.l5d.httpController, port: 70000}\n", "interfaces[0].port: Input should be less than or equal to 65535"),
    ("namers:\n- kind: io.l5d.fs\n", "namers[0].rootDir: Field required"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_bad_config_exits_2_naming_the_key_path(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "namerd.yaml"
    config.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "roost", "namerd", "--config", str(config), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    assert f"error: {config}: " in done.stderr and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "roost", "namerd", "--config", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "cannot read" in done.stderr, done.stderr
