"""``roost namerd`` as a real process, driven with ``roost dtab get|put|watch``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roost.cli.main import app
from roost.testing.processes import RoostProcess, free_port

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture
def namerd(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = RoostProcess(["namerd", "--store", "memory://", "--port", str(port)], port,
                        tmp_path / "namerd.log")  # fmt: skip
    proc.start()
    try:
        yield proc.url
    finally:
        proc.kill()


def test_put_get_and_compare_and_set(namerd: str, tmp_path: Path) -> None:
    dtab = tmp_path / "default.dtab"
    dtab.write_text(
        "/svc => /#/io.l5d.fs ;\n/svc/gen => 9 * /#/io.l5d.fs/gen & 1 * /#/io.l5d.fs/gen-v2\n"
    )
    put = runner.invoke(app, ["dtab", "put", "default", "-f", str(dtab), "--namerd", namerd])
    assert put.exit_code == 0 and "ETag: AAAAAAAAAAE=" in put.output
    got = runner.invoke(app, ["dtab", "get", "default", "--namerd", namerd])
    assert got.exit_code == 0
    assert got.stdout.splitlines() == [
        "/svc=>/#/io.l5d.fs;",
        "/svc/gen=>9.00*/#/io.l5d.fs/gen & /#/io.l5d.fs/gen-v2;",
    ]
    stale = runner.invoke(
        app,
        [
            "dtab",
            "put",
            "default",
            "-f",
            str(dtab),
            "--if-match",
            "AAAAAAAAAAk=",
            "--namerd",
            namerd,
        ],
    )
    assert stale.exit_code == 1 and "412" in stale.output
    missing = runner.invoke(app, ["dtab", "get", "nope", "--namerd", namerd])
    assert missing.exit_code == 1 and "404" in missing.output
    bad = runner.invoke(app, ["dtab", "put", "default", "--namerd", namerd], input="/svc =>")
    assert bad.exit_code == 1 and "Invalid dtab" in bad.output


def test_watch_prints_each_change(namerd: str) -> None:
    runner.invoke(app, ["dtab", "put", "w", "--namerd", namerd], input="/a=>/b")
    watch = subprocess.Popen(
        [sys.executable, "-m", "roost", "dtab", "watch", "w", "--namerd", namerd],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert watch.stdout is not None
        assert watch.stdout.readline().strip() == "/a=>/b"
        runner.invoke(app, ["dtab", "put", "w", "--namerd", namerd], input="/a=>/c")
        assert watch.stdout.readline().strip() == "/a=>/c"
    finally:
        watch.kill()
        watch.wait(5)


def test_an_unreachable_namerd_is_a_clear_error() -> None:
    result = runner.invoke(app, ["dtab", "get", "--namerd", f"http://127.0.0.1:{free_port()}"])
    assert result.exit_code == 2 and "cannot reach namerd" in result.output
