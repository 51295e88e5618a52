"""The ``roost`` command line: bad flags get a specific message and exit 2; ``roost up`` runs a
cluster and SIGTERM leaves no process behind."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import httpx
import psutil
import pytest
from typer.testing import CliRunner

from roost.cli.main import app
from roost.testing.processes import RoostProcess, free_port, wait_until

runner = CliRunner()

BAD_FLAGS = [
    (["master", "--port", "99999"], "--port must be between 0 and 65535"),
    (["master", "--port", "abc"], "Invalid value for '--port'"),
    (["master", "--allocation-interval", "-1"], "--allocation-interval must be a positive number"),
    (["master", "--agent-ping-timeout", "0"], "--agent-ping-timeout must be a positive number"),
    (["master", "--max-agent-ping-timeouts", "0"], "--max-agent-ping-timeouts must be at least 1"),
    (["master", "--offer-timeout", "-3"], "--offer-timeout must be positive"),
    (["master", "--weights", "prod=abc"], "--weights: bad entry 'prod=abc'"),
    (["master", "--min-allocatable-resources", "cpus:x"], "--min-allocatable-resources"),
    (["master", "--store", "ftp://x", "--port", "0"], "unknown scheme 'ftp'"),
    (["master", "--log-level", "loud", "--port", "0"], "log level must be one of"),
    (["agent", "--master", "nohost:99999"], "--master port must be between 1 and 65535"),
    (["agent", "--master", "a b"], "--master must look like host:port"),
    (["agent", "--resources", "cpus:four"], "cpus:four"),
    (["agent", "--attributes", "rack"], "rack"),
    (["agent", "--port", "-1"], "--port must be between 0 and 65535"),
    (["agent", "--ip", "not-an-ip"], "--ip must be an IP address"),
    (["agent", "--cgroups", "maybe"], "--cgroups"),
    (["up", "--resources", "mem:-1"], "negative"),
    (["up", "--master-port", "70000"], "--port must be between 0 and 65535"),
    (["run-task", "--master", "127.0.0.1:1", "--cpus", "-1", "--", "true"], "cpus"),
    (["marathon", "--master", "zk://h:2181/mesos"], "zk://... is not supported yet"),
    (["marathon", "--master", "nohost"], "--master must look like HOST:PORT"),
    (["marathon", "--master", "h:70000"], "--master port must be between 1 and 65535"),
    (["marathon", "--port", "70000"], "--port must be within 0..65535"),
    (["marathon", "--ip", "localhost"], "--ip must be an IP address"),
    (["marathon", "--store", "ftp://x"], "--store must be sqlite:///relative.db"),
    (["marathon", "--local-port-min", "0"], "--local-port-min/--local-port-max"),
    (["marathon", "--local-port-min", "20", "--local-port-max", "10"], "1 <= min <= max"),
    (["marathon", "--failover-timeout", "-1"], "--failover-timeout must be >= 0"),
    (["marathon", "--decline-offer-duration", "0"], "--decline-offer-duration must be > 0"),
    (["marathon", "--framework-name", " "], "--framework-name must not be empty"),
    (["marathon", "--port", "x"], "unable to parse string as an integer"),
    (["up", "--marathon-port", "70000"], "--marathon-port must be between 0 and 65535"),
    (["namerd", "--port", "70000"], "--port must be between 0 and 65535"),
    (["namerd", "--store", "ftp://x"], "unknown scheme 'ftp'"),
    (["namerd", "--port", "x"], "Invalid value for '--port'"),
    (["mesh", "--config", "m.yaml", "--workers", "0"], "--workers must be between 1 and 64"),
    (["mesh"], "Missing option '--config'"),
    (["dtab", "put", "--if-match"], "Option '--if-match' requires an argument"),
]


@pytest.mark.parametrize(("args", "message"), BAD_FLAGS)
def test_bad_flag_gives_specific_message_and_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    # typer draws usage errors in a box: compare with the frame and wrapping removed
    text = " ".join(result.output.replace("│", " ").split())
    assert message in text


def test_every_flag_reads_its_environment_variable() -> None:
    result = runner.invoke(app, ["master"], env={"ROOST_PORT": "99999"})
    assert result.exit_code == 2
    assert "--port must be between 0 and 65535, got 99999" in result.output


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("up", "master", "agent", "run-task", "marathon", "mesh"):
        assert command in result.output


@pytest.mark.slow
def test_roost_up_runs_a_task_and_sigterm_leaves_no_process_behind(tmp_path: Path) -> None:
    mport, aport = free_port(), free_port()
    up = RoostProcess(
        [
            "up",
            "--work-dir",
            str(tmp_path / ".roost"),
            "--master-port",
            str(mport),
            "--agent-port",
            str(aport),
            "--resources",
            "cpus:2;mem:1024",
        ],
        mport,
        tmp_path / "up.log",
    ).start()
    marker = str(3000 + uuid.uuid4().int % 1000)
    client = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "roost",
            "run-task",
            "--master",
            up.address,
            "--",
            f"sleep {marker}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        def sleeper() -> list[psutil.Process]:
            return [
                p
                for p in psutil.process_iter(["cmdline"])
                if p.info["cmdline"] and p.info["cmdline"][-1:] == [marker] and p.pid != os.getpid()
            ]

        def states() -> list[str]:
            state = up.get("/master/state").json()
            return [t["state"] for f in state["frameworks"] for t in f["tasks"]]

        wait_until(lambda: sleeper(), timeout=30)
        # (RUNNING follows the process's start once run-task has acknowledged STARTING)
        wait_until(lambda: states() == ["TASK_RUNNING"], timeout=30)
        assert up.terminate() == 0
        assert "roost is up" in up.log.read_text()
        wait_until(lambda: not sleeper(), timeout=10)
    finally:
        client.kill()
        client.wait()
        up.terminate()


class RefusingMaster(http.server.BaseHTTPRequestHandler):
    """A "master" that refuses every SUBSCRIBE, as Mesos does a framework it will not take."""

    def do_POST(self) -> None:
        body = b"Framework role '*' is not allowed"
        self.send_response(403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_marathon_refused_by_the_master_exits_with_the_masters_reason(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RefusingMaster)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        master = f"127.0.0.1:{server.server_address[1]}"
        store = f"sqlite:///{tmp_path / 'marathon.db'}"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "roost",
                "marathon",
                "--master",
                master,
                "--store",
                store,
                "--port",
                "0",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode != 0
    assert "roost marathon serving http://" in done.stderr
    assert "Framework role '*' is not allowed" in done.stderr


MESH_BAD = [
    (
        "routers:\n- protocol: http\n  bogus: 1\n",
        "routers[0].bogus: Extra inputs are not permitted",
    ),
    ("routers: [", "not YAML"),
    ("admin: {}\n", "routers: Field required"),
]


@pytest.mark.parametrize(("text", "message"), MESH_BAD)
def test_mesh_refuses_a_bad_config_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "mesh.yaml"
    config.write_text(text)
    result = runner.invoke(app, ["mesh", "--config", str(config)])
    assert result.exit_code == 2 and message in result.output


def test_mesh_without_its_config_file_says_so(tmp_path: Path) -> None:
    result = runner.invoke(app, ["mesh", "--config", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and "cannot read" in result.output


@pytest.mark.slow
def test_roost_mesh_routes_a_request_to_a_backend(tmp_path: Path) -> None:
    config, router_port, admin_port, backend = _mesh_setup(tmp_path)
    mesh = RoostProcess(["mesh", "--config", str(config)], admin_port, tmp_path / "mesh.log")
    try:
        mesh.start()
        rep = httpx.get(f"http://127.0.0.1:{router_port}/", headers={"Host": "web"}, timeout=10)
        assert rep.status_code == 200 and rep.text == "hello from web"
        missing = httpx.get(f"http://127.0.0.1:{router_port}/", headers={"Host": "x"}, timeout=10)
        assert missing.status_code == 502 and "No hosts are available" in missing.text
    finally:
        mesh.kill()
        backend.shutdown()


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello from web"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.slow
def test_roost_mesh_workers_share_the_router_port(tmp_path: Path) -> None:
    config, router_port, admin_port, backend = _mesh_setup(tmp_path)
    args = ["mesh", "--config", str(config), "--workers", "3"]
    mesh = RoostProcess(args, admin_port, tmp_path / "mesh.log")
    try:
        mesh.start()
        assert mesh.proc is not None
        parent = psutil.Process(mesh.proc.pid)

        def listening() -> list[psutil.Process]:
            procs = [parent, *parent.children()]
            return [
                p
                for p in procs
                if any(c.laddr.port == router_port for c in p.net_connections("tcp"))
            ]

        wait_until(lambda: len(listening()) == 3, timeout=20)
        for _ in range(30):  # a new connection each time: the kernel spreads them
            rep = httpx.get(f"http://127.0.0.1:{router_port}/", headers={"Host": "web"}, timeout=10)
            assert rep.status_code == 200
        children = parent.children()
    finally:
        mesh.kill()
        backend.shutdown()
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, "workers outlived the parent"


def _mesh_setup(tmp_path: Path) -> tuple[Path, int, int, http.server.ThreadingHTTPServer]:
    """A backend answering 'hello from web', found through io.l5d.fs, and a mesh config
    routing to it: (config file, router port, admin port, backend)."""
    backend_port, router_port, admin_port = free_port(), free_port(), free_port()
    (tmp_path / "disco").mkdir()
    (tmp_path / "disco" / "web").write_text(f"127.0.0.1 {backend_port}\n")
    config = tmp_path / "mesh.yaml"
    config.write_text(
        f"admin: {{port: {admin_port}}}\n"
        "namers:\n- {kind: io.l5d.fs, rootDir: disco}\n"
        "routers:\n- protocol: http\n  dtab: /svc => /#/io.l5d.fs\n"
        f"  servers: [{{port: {router_port}}}]\n"
    )
    backend = http.server.ThreadingHTTPServer(("127.0.0.1", backend_port), _Hello)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    return config, router_port, admin_port, backend


def test_a_server_command_does_not_load_what_other_commands_need() -> None:
    """The mesh's idle memory is a target (docs/benchmarks.md): the command line alone must not
    load rich (help and `roost up` only), the cluster kernel or Marathon."""
    code = (
        "import sys, roost.cli.main, roost.mesh.app, roost.mesh.config\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'rich'"
        " or m.startswith(('roost.cluster', 'roost.marathon', 'roost.chronos'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
