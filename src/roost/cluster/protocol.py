"""Names shared by the master and the agent: task states, reasons, event and call types.

See ``docs/agent-protocol.md`` for the agent <-> master protocol and
``../shared/reference/mesos-api.md`` for the Mesos v1 shapes.
"""

from __future__ import annotations

from typing import Any

TERMINAL_STATES = frozenset(
    {
        "TASK_FINISHED",
        "TASK_FAILED",
        "TASK_KILLED",
        "TASK_ERROR",
        "TASK_LOST",
        "TASK_DROPPED",
        "TASK_GONE",
        "TASK_GONE_BY_OPERATOR",
    }
)

TASK_STATES = frozenset(
    {
        "TASK_STAGING",
        "TASK_STARTING",
        "TASK_RUNNING",
        "TASK_KILLING",
        "TASK_UNREACHABLE",
        "TASK_UNKNOWN",
        *TERMINAL_STATES,
    }
)

AGENT_CALLS = frozenset({"SUBSCRIBE", "UPDATE", "UPDATES", "PONG", "EXECUTOR_EXITED", "MESSAGE"})

#: most status updates one UPDATES call may carry
MAX_BATCHED_UPDATES = 1000


def is_terminal(state: str) -> bool:
    return state in TERMINAL_STATES


def id_value(obj: Any) -> str | None:
    """``{"value": "x"}`` -> ``"x"``; anything else -> ``None``."""
    if isinstance(obj, dict):
        v = obj.get("value")
        if isinstance(v, str) and v:
            return v
    return None


def ref(value: str) -> dict[str, str]:
    return {"value": value}
