"""The environment Marathon gives each task (``mesos/EnvironmentHelper.scala``, ``TaskBuilder``).

Documented in Marathon's ``docs/docs/task-environment-vars.md``. Three layers, later ones win:

1. task context: ``MESOS_TASK_ID``, ``MARATHON_APP_ID``, ``MARATHON_APP_VERSION``,
   ``MARATHON_APP_DOCKER_IMAGE``, ``MARATHON_APP_RESOURCE_*``, ``MARATHON_APP_LABELS`` and
   ``MARATHON_APP_LABEL_<KEY>``;
2. ports and host: ``PORT0..``, ``PORT``, ``PORTS``, ``PORT_<requested>``, ``PORT_<NAME>``,
   ``HOST`` (only these carry ``--env_vars_prefix``);
3. the app's own ``env`` (plain string values; secret references are not resolved here).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from roost.marathon.appdef import AppDefinition

#: Longest environment entry Marathon will write for a label (``maxEnvironmentVarLength``).
MAX_ENV_VALUE_LENGTH = 512
LABEL_PREFIX = "MARATHON_APP_LABEL_"
#: Label keys must be shorter than this (512 minus the prefix: 493), values shorter than 512.
MAX_LABEL_KEY_LENGTH = MAX_ENV_VALUE_LENGTH - len(LABEL_PREFIX)

_NOT_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_]+")


def task_environment(
    app: AppDefinition,
    *,
    task_id: str,
    host: str,
    host_ports: Sequence[int],
    prefix: str = "",
) -> dict[str, str]:
    """All environment variables for one task of ``app`` on ``host`` with ``host_ports``.

    ``host_ports[i]`` is the port assigned for ``portDefinitions[i]`` (for a ``requirePorts`` app
    the caller passes the requested ports themselves). ``prefix`` is Marathon's
    ``--env_vars_prefix``: it is put in front of the ``PORT*`` and ``HOST`` names only.
    """
    env = _task_context(app, task_id)
    ports_and_host = {**ports_env(app, host_ports), "HOST": host}
    env.update({prefix + name: value for name, value in ports_and_host.items()})
    env.update({name: value for name, value in app.env.items() if isinstance(value, str)})
    return env


def ports_env(app: AppDefinition, host_ports: Sequence[int]) -> dict[str, str]:
    """``PORT0..``, ``PORT``, ``PORTS``, ``PORT_<requested>`` and ``PORT_<NAME>`` (no prefix).

    Mirrors ``EnvironmentHelper.portsEnv`` for host ports: a requested port of 0 gives
    ``PORT_<assigned>=<assigned>``, otherwise ``PORT_<requested>=<assigned>``. No ports, no
    variables (not even an empty ``PORTS``).
    """
    if not host_ports:
        return {}
    env = {f"PORT{index}": str(port) for index, port in enumerate(host_ports)}
    requests = _port_requests(app)
    for (requested, _), port in zip(requests, host_ports, strict=False):
        env[f"PORT_{requested or port}"] = str(port)
    for (_, name), port in zip(requests, host_ports, strict=False):
        if name:
            env[f"PORT_{env_name(name)}"] = str(port)
    env["PORT"] = str(host_ports[0])
    env["PORTS"] = ",".join(str(port) for port in host_ports)
    return env


def labels_env(labels: Mapping[str, str]) -> dict[str, str]:
    """``MARATHON_APP_LABELS`` (space-separated names) and one ``MARATHON_APP_LABEL_<KEY>`` each.

    Mirrors ``EnvironmentHelper.labelsToEnvVars``: keys are sanitized with :func:`env_name`;
    labels whose key is 493 characters or longer, or whose value is 512 or longer, are left out
    because the variable would be too long. ``MARATHON_APP_LABELS`` is present even when empty.
    """
    kept: dict[str, str] = {}
    for key, value in labels.items():
        if len(key) < MAX_LABEL_KEY_LENGTH and len(value) < MAX_ENV_VALUE_LENGTH:
            kept[env_name(key)] = value
    env = {"MARATHON_APP_LABELS": " ".join(kept)}
    env.update({LABEL_PREFIX + name: value for name, value in kept.items()})
    return env


def env_name(name: str) -> str:
    """``"my-label.x"`` -> ``"MY_LABEL_X"``: runs of other characters become one ``_``."""
    return _NOT_NAME_CHARS.sub("_", name).upper()


def scala_double(value: float) -> str:
    """``value`` as Java/Scala ``Double.toString`` prints it: ``0.1``, ``16.0``, ``1.0E7``.

    Plain notation (always with a fraction digit) for magnitudes in [1e-3, 1e7), otherwise
    ``d.dddE<n>``; digits are the shortest that round-trip, like Python's ``repr``.
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(float(value))  # repr never uses an exponent in this range
    sign, digits, exponent = Decimal(repr(float(value))).as_tuple()
    if not isinstance(exponent, int):  # pragma: no cover - finite values have int exponents
        raise ValueError(f"not a finite number: {value!r}")
    text = "".join(map(str, digits)).rstrip("0") or "0"
    power = len(digits) + exponent - 1
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"


def mesos_environment(env: Mapping[str, str]) -> dict[str, Any]:
    """A Mesos ``Environment`` message: ``{"variables": [{"name", "value"}, ...]}`` by name."""
    return {"variables": [{"name": name, "value": env[name]} for name in sorted(env)]}


def _task_context(app: AppDefinition, task_id: str) -> dict[str, str]:
    env = {"MESOS_TASK_ID": task_id, "MARATHON_APP_ID": app.id}
    if app.version is not None:  # stored apps always have one; a draft has none yet
        env["MARATHON_APP_VERSION"] = app.version
    image = _docker_image(app.container)
    if image:
        env["MARATHON_APP_DOCKER_IMAGE"] = image
    env["MARATHON_APP_RESOURCE_CPUS"] = scala_double(app.cpus)
    env["MARATHON_APP_RESOURCE_MEM"] = scala_double(app.mem)
    env["MARATHON_APP_RESOURCE_DISK"] = scala_double(app.disk)
    env["MARATHON_APP_RESOURCE_GPUS"] = str(int(app.gpus))
    env.update(labels_env(app.labels))
    return env


def _port_requests(app: AppDefinition) -> list[tuple[int, str | None]]:
    """(requested port, name) per port index: ``portDefinitions``, else container mappings."""
    if app.port_definitions:
        return [(pd.port, pd.name) for pd in app.port_definitions]
    mappings = (app.container or {}).get("portMappings") or []
    return [
        (int(m.get("containerPort") or 0), m.get("name"))
        for m in mappings
        if isinstance(m, Mapping)
    ]


def _docker_image(container: Mapping[str, Any] | None) -> str | None:
    docker = (container or {}).get("docker")
    if isinstance(docker, Mapping) and isinstance(docker.get("image"), str):
        return str(docker["image"])
    return None
