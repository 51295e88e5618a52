"""Why an offer was not used: Marathon's ``NoOfferMatchReason`` names, in funnel order.

``/v2/queue`` reports rejections per reason (``processedOffersSummary``); the order of
:data:`REASONS` is Marathon's ``NoOfferMatchReason.reasonFunnel``, which the summary walks to
say how many offers were still in play at each step.

roost produces the role, constraint, scalar and port reasons. ``NoCorrespondingReservationFound``
(resident apps), ``AgentMaintenance`` (maintenance windows) and ``DeclinedScarceResources``
(GPU agents kept for GPU apps, a Marathon flag) are named so the summary has every row Marathon
has, but roost never records them.
"""

from __future__ import annotations

UNFULFILLED_ROLE = "UnfulfilledRole"
UNFULFILLED_CONSTRAINT = "UnfulfilledConstraint"
NO_CORRESPONDING_RESERVATION_FOUND = "NoCorrespondingReservationFound"
AGENT_MAINTENANCE = "AgentMaintenance"
INSUFFICIENT_CPUS = "InsufficientCpus"
INSUFFICIENT_MEMORY = "InsufficientMemory"
INSUFFICIENT_DISK = "InsufficientDisk"
INSUFFICIENT_GPUS = "InsufficientGpus"
INSUFFICIENT_PORTS = "InsufficientPorts"
DECLINED_SCARCE_RESOURCES = "DeclinedScarceResources"

#: Every reason, in Marathon's funnel order (``NoOfferMatchReason.reasonFunnel``).
REASONS: tuple[str, ...] = (
    UNFULFILLED_ROLE,
    UNFULFILLED_CONSTRAINT,
    NO_CORRESPONDING_RESERVATION_FOUND,
    AGENT_MAINTENANCE,
    INSUFFICIENT_CPUS,
    INSUFFICIENT_MEMORY,
    INSUFFICIENT_DISK,
    INSUFFICIENT_GPUS,
    INSUFFICIENT_PORTS,
    DECLINED_SCARCE_RESOURCES,
)

#: The reason for each scalar resource an app asks for (``NoOfferMatchReason.fromResourceType``).
SCALAR_REASONS: dict[str, str] = {
    "cpus": INSUFFICIENT_CPUS,
    "mem": INSUFFICIENT_MEMORY,
    "disk": INSUFFICIENT_DISK,
    "gpus": INSUFFICIENT_GPUS,
}
