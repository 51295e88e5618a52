"""The v1 scheduler calls as async methods (mixed into :class:`SchedulerDriver`).

Each method sends one call and returns once the master answered ``202 Accepted``; a non-2xx
answer raises :class:`~roost.cluster.scheduler.errors.CallRejected` carrying the master's
plain-text message, and a call while not subscribed raises ``NotSubscribed``. Semantic
failures (an unknown offer, a task that does not fit) arrive later as UPDATE events, as in Mesos.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from roost.cluster.scheduler import calls
from roost.cluster.scheduler.calls import IdLike, Json
from roost.cluster.scheduler.errors import NotSubscribed


class SchedulerCalls(ABC):
    """Needs ``framework_id`` and ``_send(body)`` from the class it is mixed into."""

    @property
    @abstractmethod
    def framework_id(self) -> str | None: ...

    @abstractmethod
    async def _send(self, body: Json) -> None: ...

    def _require_fid(self) -> str:
        fid = self.framework_id
        if fid is None:
            raise NotSubscribed("no framework id yet: wait for the subscribed() callback")
        return fid

    async def accept(
        self,
        offer_ids: Iterable[IdLike],
        operations: Sequence[Mapping[str, Any]],
        filters: Mapping[str, Any] | None = None,
        *,
        refuse_seconds: float | None = None,
    ) -> None:
        """ACCEPT: apply ``operations``; unused resources count as declined with ``filters``."""
        f = calls.filters_obj(filters, refuse_seconds)
        await self._send(calls.accept(self._require_fid(), offer_ids, operations, f))

    async def launch(
        self,
        offer_ids: Iterable[IdLike],
        task_infos: Sequence[Mapping[str, Any]],
        filters: Mapping[str, Any] | None = None,
        *,
        refuse_seconds: float | None = None,
    ) -> None:
        """ACCEPT with one LAUNCH operation (no tasks at all becomes a DECLINE, like pymesos)."""
        if not task_infos:
            await self.decline(offer_ids, filters, refuse_seconds=refuse_seconds)
            return
        await self.accept(
            offer_ids, [calls.launch_op(task_infos)], filters, refuse_seconds=refuse_seconds
        )

    async def launch_group(
        self,
        offer_ids: Iterable[IdLike],
        executor_info: Mapping[str, Any],
        task_infos: Sequence[Mapping[str, Any]],
        filters: Mapping[str, Any] | None = None,
        *,
        refuse_seconds: float | None = None,
    ) -> None:
        """ACCEPT with one LAUNCH_GROUP operation (tasks run together under ``executor_info``)."""
        op = calls.launch_group_op(executor_info, task_infos)
        await self.accept(offer_ids, [op], filters, refuse_seconds=refuse_seconds)

    async def decline(
        self,
        offer_ids: Iterable[IdLike],
        filters: Mapping[str, Any] | None = None,
        *,
        refuse_seconds: float | None = None,
    ) -> None:
        """DECLINE; ``refuse_seconds`` (default 5 s) keeps these resources from coming back."""
        f = calls.filters_obj(filters, refuse_seconds)
        await self._send(calls.decline(self._require_fid(), offer_ids, f))

    async def revive(self, roles: Iterable[str] | None = None) -> None:
        """REVIVE: offers again, and all offer filters for ``roles`` (default: all) cleared."""
        await self._send(calls.roles_call("REVIVE", self._require_fid(), roles))

    async def suppress(self, roles: Iterable[str] | None = None) -> None:
        """SUPPRESS: no more offers for ``roles`` (default: all) until REVIVE."""
        await self._send(calls.roles_call("SUPPRESS", self._require_fid(), roles))

    async def kill(
        self,
        task_id: IdLike,
        agent_id: IdLike | None = None,
        kill_policy: Mapping[str, Any] | None = None,
    ) -> None:
        await self._send(calls.kill(self._require_fid(), task_id, agent_id, kill_policy))

    async def acknowledge(self, agent_id: IdLike, task_id: IdLike, uuid: str | bytes) -> None:
        """ACKNOWLEDGE an update that carried a ``uuid`` (needed when implicit acks are off)."""
        await self._send(calls.acknowledge(self._require_fid(), agent_id, task_id, uuid))

    async def reconcile(self, tasks: Iterable[tuple[IdLike, IdLike | None]] = ()) -> None:
        """RECONCILE once; an empty list is implicit reconciliation (all non-terminal tasks)."""
        await self._send(calls.reconcile(self._require_fid(), tasks))

    async def message(self, agent_id: IdLike, executor_id: IdLike, data: bytes) -> None:
        """MESSAGE: best-effort bytes to an executor."""
        await self._send(calls.message(self._require_fid(), agent_id, executor_id, data))

    async def shutdown(self, executor_id: IdLike, agent_id: IdLike) -> None:
        """SHUTDOWN a custom executor (its tasks end as LOST/KILLED)."""
        await self._send(calls.shutdown(self._require_fid(), executor_id, agent_id))

    async def request(self, requests: Sequence[Mapping[str, Any]]) -> None:
        """REQUEST resources (Mesos' built-in allocator ignores it)."""
        await self._send(calls.request(self._require_fid(), requests))

    async def teardown(self) -> None:
        """TEARDOWN: kill every task, remove the framework; prefer ``driver.stop()``."""
        await self._send(calls.teardown(self._require_fid()))
