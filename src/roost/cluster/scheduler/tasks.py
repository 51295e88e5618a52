"""Small helpers for frameworks: does an offer fit, build a command TaskInfo, task states."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from roost.cluster.protocol import TERMINAL_STATES as PROTOCOL_TERMINAL_STATES
from roost.cluster.scheduler.calls import id_value
from roost.core.resources import ResourceError, Resources

#: Terminal ``TaskState`` values (LOST too: Mesos calls it terminal, though it may come back).
TERMINAL_STATES = PROTOCOL_TERMINAL_STATES


def offer_resources(offer: Mapping[str, Any]) -> Resources:
    """An offer's resources (an unparsable list counts as nothing)."""
    try:
        return Resources.from_json(offer.get("resources", []))
    except ResourceError:
        return Resources()


def offer_fits(offer: Mapping[str, Any], **needed: float) -> bool:
    """``offer_fits(offer, cpus=0.1, mem=32)``: are those scalars all available in ``offer``?"""
    return offer_resources(offer).contains(Resources.scalars(**needed))


def offer_role(offer: Mapping[str, Any]) -> str | None:
    info = offer.get("allocation_info")
    role = info.get("role") if isinstance(info, Mapping) else None
    return role if isinstance(role, str) else None


def command_task(
    offer: Mapping[str, Any],
    *,
    task_id: str,
    name: str,
    command: Sequence[str],
    shell: bool = True,
    env: Mapping[str, str] | None = None,
    **resources: float,
) -> dict[str, Any]:
    """A ``TaskInfo`` run by the agent's command executor on ``offer``'s agent.

    With ``shell`` the arguments are joined with spaces and run by ``/bin/sh -c`` (so ``$VAR``
    and pipes work); without it ``command[0]`` is executed with ``command`` as its argv.
    """
    if not command:
        raise ValueError("a command task needs a command")
    cmd: dict[str, Any] = (
        {"shell": True, "value": " ".join(command)}
        if shell
        else {"shell": False, "value": command[0], "arguments": list(command)}
    )
    if env:
        cmd["environment"] = {"variables": [{"name": k, "value": v} for k, v in env.items()]}
    agent_id = id_value(offer.get("agent_id"))
    if agent_id is None:
        raise ValueError("the offer has no agent_id")
    return {
        "name": name,
        "task_id": {"value": task_id},
        "agent_id": {"value": agent_id},
        "resources": Resources.scalars(**resources).to_json(role=offer_role(offer)),
        "command": cmd,
    }
