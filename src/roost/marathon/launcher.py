"""TaskInfo for one instance of an app on one offer (Marathon's ``TaskBuilder``).

The Mesos task name is the reversed app path (``/prod/web`` -> ``web.prod``), which is what
Mesos-DNS turns into ``web.prod.marathon.mesos``; ``DiscoveryInfo`` names the ports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from roost.marathon.appdef import AppDefinition
from roost.marathon.health import mesos_health_check
from roost.marathon.pathid import hostname
from roost.marathon.placement import TaskPlacement
from roost.marathon.task_env import mesos_environment, task_environment


def command_info(app: AppDefinition, env: Mapping[str, str]) -> dict[str, Any]:
    cmd: dict[str, Any]
    if app.cmd is not None:
        cmd = {"shell": True, "value": app.cmd}
    elif app.args:
        cmd = {"shell": False, "value": app.args[0], "arguments": list(app.args)}
    else:  # a container-only app: run the image's entrypoint (roost has no images: a no-op)
        cmd = {"shell": True, "value": "true"}
    cmd["environment"] = mesos_environment(env)
    if app.fetch:
        cmd["uris"] = [
            {
                "value": f.uri,
                "extract": f.extract,
                "executable": f.executable,
                "cache": f.cache,
                **({"output_file": f.dest_path} if f.dest_path else {}),
            }
            for f in app.fetch
        ]
    if app.user:
        cmd["user"] = app.user
    return cmd


def task_info(
    app: AppDefinition,
    *,
    task_id: str,
    agent_id: str,
    host: str,
    placement: TaskPlacement,
) -> dict[str, Any]:
    ports = list(placement.host_ports)
    env = task_environment(app, task_id=task_id, host=host, host_ports=ports)
    info: dict[str, Any] = {
        "name": hostname(app.id),
        "task_id": {"value": task_id},
        "agent_id": {"value": agent_id},
        "resources": placement.resources,
        "command": command_info(app, env),
        "labels": {"labels": [{"key": k, "value": v} for k, v in sorted(app.labels.items())]},
        "discovery": {
            "visibility": "FRAMEWORK",
            "name": hostname(app.id),
            "ports": {
                "ports": [
                    {
                        "number": port,
                        "protocol": pd.protocol.split(",")[0],
                        **({"name": pd.name} if pd.name else {}),
                    }
                    for pd, port in zip(app.port_definitions, ports, strict=False)
                ]
            },
        },
    }
    check = mesos_health_check(app, ports)
    if check is not None:
        info["health_check"] = check
    if app.task_kill_grace_period_seconds is not None:
        info["kill_policy"] = {
            "grace_period": {"nanoseconds": int(app.task_kill_grace_period_seconds * 1e9)}
        }
    return info
