"""The callbacks a framework implements (the v1 events, one async method each).

Subclass :class:`Scheduler` and override what you need; every callback defaults to a no-op.
Callbacks run one at a time, in event order, on the driver's dispatch task, so a callback
sees a consistent world. A callback may make calls on ``driver`` (accept, decline, kill ...),
but should not wait for *later* events inside the callback: those are dispatched after it
returns. An exception in a callback is logged and does not stop the driver; for UPDATE it
also withholds the implicit acknowledgement, so the agent re-sends the update later.

Ids are passed as plain strings; offers and statuses as the master's JSON dicts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from roost.cluster.scheduler.driver import SchedulerDriver


class Scheduler:
    """Base class with no-op callbacks (pymesos ``Scheduler``, Mesos ``scheduler.hpp``)."""

    async def subscribed(
        self, driver: SchedulerDriver, framework_id: str, master_info: dict[str, Any]
    ) -> None:
        """SUBSCRIBED: after the first subscribe and after every re-subscribe."""

    async def offers(self, driver: SchedulerDriver, offers: list[dict[str, Any]]) -> None:
        """OFFERS: accept (``launch``/``accept``) or ``decline`` each one."""

    async def rescind(self, driver: SchedulerDriver, offer_id: str) -> None:
        """RESCIND: the offer is no longer valid."""

    async def update(self, driver: SchedulerDriver, status: dict[str, Any]) -> None:
        """UPDATE: a ``TaskStatus``; acknowledged after this returns (implicit acks)."""

    async def message(
        self, driver: SchedulerDriver, agent_id: str, executor_id: str, data: bytes
    ) -> None:
        """MESSAGE: bytes from an executor."""

    async def failure(
        self,
        driver: SchedulerDriver,
        agent_id: str | None,
        executor_id: str | None,
        status: int | None,
    ) -> None:
        """FAILURE: an agent was removed (no ``executor_id``) or an executor exited."""

    async def error(self, driver: SchedulerDriver, message: str) -> None:
        """ERROR from the master, or a SUBSCRIBE the master refused for good."""

    async def heartbeat(self, driver: SchedulerDriver) -> None:
        """HEARTBEAT: the master is alive (the driver's watchdog already noted it)."""

    async def disconnected(self, driver: SchedulerDriver) -> None:
        """The subscription stream broke; the driver is re-subscribing."""
