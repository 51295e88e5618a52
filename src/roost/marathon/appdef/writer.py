"""App JSON out: what GET returns and what the ``marathon`` client can read back.

``marathon`` 0.13.0's ``MarathonApp.from_json`` calls ``MarathonApp(**snake_case(keys))``
on a constructor without ``**kwargs``, so one unknown key (``tty``, ``check``,
``executorResources``, ``resourceLimits``...) makes the client raise ``TypeError``
(reference §4.3). :func:`app_json` therefore writes only :data:`APP_KEYS`, and filters the
container (whose client models are just as strict) to :data:`CONTAINER_KEYS`. Like
upstream's writer it never emits ``ports`` or ``uris``: ports appear as
``portDefinitions[].port``. ``null`` members are omitted; empty collections are kept.
"""

from __future__ import annotations

from typing import Any

from roost.marathon.appdef.model import AppDefinition

APP_KEYS = frozenset(
    {
        "id",
        "cmd",
        "args",
        "user",
        "env",
        "instances",
        "cpus",
        "mem",
        "disk",
        "gpus",
        "executor",
        "constraints",
        "fetch",
        "portDefinitions",
        "requirePorts",
        "backoffSeconds",
        "backoffFactor",
        "maxLaunchDelaySeconds",
        "container",
        "healthChecks",
        "readinessChecks",
        "dependencies",
        "upgradeStrategy",
        "labels",
        "acceptedResourceRoles",
        "version",
        "versionInfo",
        "killSelection",
        "taskKillGracePeriodSeconds",
        "networks",
        "role",
    }
)
"""Every key :func:`app_json` may write; all are ``MarathonApp`` constructor arguments."""

CONTAINER_KEYS = {
    "": ("type", "docker", "portMappings", "volumes"),
    "docker": ("image", "network", "portMappings", "parameters", "privileged", "forcePullImage"),
    "portMappings": ("containerPort", "hostPort", "servicePort", "protocol", "name", "labels"),
    "volumes": ("containerPath", "hostPath", "mode", "persistent", "external"),
}
"""Container members the client's ``MarathonContainer*`` models accept, by sub-object."""


def dump(app: AppDefinition) -> dict[str, Any]:
    """The full camelCase form of ``app`` (every stored member, ``null`` ones omitted)."""
    return app.model_dump(mode="json", by_alias=True, exclude_none=True)


def app_json(app: AppDefinition) -> dict[str, Any]:
    """The Marathon JSON of ``app``, restricted to keys the ``marathon`` client accepts."""
    js = {k: v for k, v in dump(app).items() if k in APP_KEYS}
    js["cpus"] = float(app.cpus)
    js["mem"] = float(app.mem)
    js["disk"] = float(app.disk)
    js["gpus"] = int(app.gpus)
    js["instances"] = int(app.instances)
    js["backoffSeconds"] = _number(app.backoff_seconds)
    js["maxLaunchDelaySeconds"] = _number(app.max_launch_delay_seconds)
    if app.container is not None:
        js["container"] = _container(app.container)
    return js


def _number(value: float) -> int | float:
    """Whole seconds print as integers, as upstream writes them (``"backoffSeconds": 1``)."""
    return int(value) if float(value).is_integer() else float(value)


def _container(container: dict[str, Any]) -> dict[str, Any]:
    out = _pick(container, "")
    if isinstance(out.get("docker"), dict):
        out["docker"] = _pick(out["docker"], "docker")
        if "portMappings" in out["docker"]:
            out["docker"]["portMappings"] = [
                _pick(m, "portMappings") for m in out["docker"]["portMappings"]
            ]
    for key in ("portMappings", "volumes"):
        if isinstance(out.get(key), list):
            out[key] = [_pick(item, key) for item in out[key]]
    return out


def _pick(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: obj[k] for k in CONTAINER_KEYS[kind] if obj.get(k) is not None}
