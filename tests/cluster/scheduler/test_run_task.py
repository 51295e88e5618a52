"""``roost run-task`` without a cluster: argument checks and an unreachable master."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from roost.cli.run_task import run_task_command
from roost.cluster.scheduler.tasks import command_task, offer_fits

app = typer.Typer()
app.callback()(lambda: None)
app.command("run-task")(run_task_command)

OFFER = {
    "id": {"value": "O1"},
    "agent_id": {"value": "A1"},
    "allocation_info": {"role": "*"},
    "resources": [
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}},
        {"name": "mem", "type": "SCALAR", "scalar": {"value": 64}},
    ],
}


def test_unreachable_master_exits_2_with_a_clear_message() -> None:
    result = CliRunner().invoke(
        app, ["run-task", "--master", "127.0.0.1:9", "--timeout", "1", "--", "echo", "hi"]
    )
    assert result.exit_code == 2
    assert "cannot reach the master at http://127.0.0.1:9 within 1 s" in result.output


def test_malformed_env_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["run-task", "--env", "NOEQUALS", "--", "true"])
    assert result.exit_code == 2
    assert "'NOEQUALS' is not K=V" in result.output


def test_help_documents_every_flag() -> None:
    result = CliRunner().invoke(app, ["run-task", "--help"])
    assert result.exit_code == 0
    for flag in ("--master", "--cpus", "--mem", "--name", "--timeout", "--env", "--no-shell"):
        assert flag in result.output


def test_offer_fits_checks_every_scalar() -> None:
    assert offer_fits(OFFER, cpus=0.5, mem=64)
    assert not offer_fits(OFFER, cpus=0.6, mem=32)
    assert not offer_fits(OFFER, cpus=0.1, mem=32, gpus=1)
    assert not offer_fits({"resources": "junk"}, cpus=0.1)


def test_command_task_joins_shell_words_and_execs_without_a_shell() -> None:
    shell = command_task(OFFER, task_id="t", name="t", command=["echo", "$HOME"], cpus=0.1, mem=32)
    assert shell["command"] == {"shell": True, "value": "echo $HOME"}
    assert shell["agent_id"] == {"value": "A1"}
    assert {r["name"]: r["scalar"]["value"] for r in shell["resources"]} == {
        "cpus": 0.1,
        "mem": 32.0,
    }
    assert all(r["allocation_info"] == {"role": "*"} for r in shell["resources"])
    direct = command_task(
        OFFER, task_id="t", name="t", command=["/bin/echo", "a b"], shell=False, env={"K": "V"}
    )
    assert direct["command"] == {
        "shell": False,
        "value": "/bin/echo",
        "arguments": ["/bin/echo", "a b"],
        "environment": {"variables": [{"name": "K", "value": "V"}]},
    }
