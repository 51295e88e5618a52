"""Host ports: one per ``portDefinitions`` entry, taken from the offer's ``ports`` ranges.

Marathon's ``PortsMatcher``: with ``requirePorts: false`` every host port is dynamic, any free
port of the offer will do; with ``requirePorts: true`` each definition's ``port`` must itself be
free on the agent (a definition still at 0 stays dynamic). Marathon picks dynamic ports at
random to make collisions between concurrent launches unlikely; roost picks the lowest free
ports, which is deterministic and testable, and safe because each placement removes its ports
from the offer before the next one is fitted.

Apps without port definitions need no ports. ``container.portMappings`` (bridge networking) is
not handled here.
"""

from __future__ import annotations

from dataclasses import dataclass

from roost.core.ranges import Ranges
from roost.marathon.placement.app_spec import AppSpec
from roost.marathon.placement.checkers import Attempt
from roost.marathon.placement.reasons import INSUFFICIENT_PORTS

PORTS = "ports"


def choose_host_ports(app: AppSpec, free: Ranges) -> tuple[int, ...] | None:
    """The host port for each port definition, in order, or None when ``free`` is short."""
    definitions = app.port_definitions
    if not definitions:
        return ()
    fixed = [d.port for d in definitions if app.require_ports and d.port != 0]
    if len(set(fixed)) != len(fixed) or not all(p in free for p in fixed):
        return None
    left = free - Ranges((p, p) for p in fixed)
    dynamic = iter(left.first(len(definitions) - len(fixed)))
    chosen: list[int] = []
    for d in definitions:
        if app.require_ports and d.port != 0:
            chosen.append(d.port)
        else:
            port = next(dynamic, None)
            if port is None:
                return None
            chosen.append(port)
    return tuple(chosen)


@dataclass(frozen=True)
class PortsChecker:
    """Claims the app's host ports; ``InsufficientPorts`` when they are not all free."""

    name: str = PORTS
    why: str = "after scalars: choosing ports walks ranges, and ports rarely run out first"

    def __call__(self, attempt: Attempt) -> str | None:
        ports = choose_host_ports(attempt.app, attempt.pool.ranges(PORTS))
        if ports is None:
            return INSUFFICIENT_PORTS
        taken = attempt.pool.take_ranges(PORTS, Ranges((p, p) for p in ports))
        if taken is None:  # pragma: no cover - choose_host_ports only picks free ports
            return INSUFFICIENT_PORTS
        attempt.claim(taken)
        attempt.host_ports = ports
        return None
