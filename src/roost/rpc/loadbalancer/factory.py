"""The thin asyncio shell around a balancer: a :class:`BalancerFactory` is a ServiceFactory.

It builds one factory per endpoint (``make_factory(endpoint)``) on ``Insert`` and makes it
the node's status source, so failure accrual or a closed pool shows up in the pick. A
``Remove`` takes the node out of the balancer at once; its factory is closed when the
node's last outstanding session is released (requests in flight finish; Finagle's
``RequestDraining``). Re-inserting a known address only updates its weight and meta.

``acquire()`` picks a node and acquires from its factory; the session's ``close()``
releases the node's lease, which is when load and round-trip time are recorded (a failed
acquisition releases it too).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Generic

from roost.rpc.endpoints import Change, Endpoint, EndpointSet, Insert
from roost.rpc.errors import ServiceClosed
from roost.rpc.loadbalancer.balancer import Balancer
from roost.rpc.loadbalancer.node import Lease, Node
from roost.rpc.service import Rep, Req, Service, ServiceFactory, Status

log = logging.getLogger(__name__)


class BalancerFactory(Generic[Req, Rep]):
    def __init__(
        self,
        balancer: Balancer[Any],
        make_factory: Callable[[Endpoint], ServiceFactory[Req, Rep]],
        endpoints: EndpointSet | None = None,
    ) -> None:
        self.balancer = balancer
        self.make_factory = make_factory
        self._factories: dict[str, ServiceFactory[Req, Rep]] = {}
        self._draining: dict[Node, ServiceFactory[Req, Rep]] = {}
        self._unclosed: list[ServiceFactory[Req, Rep]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._unsubscribe = endpoints.subscribe(self.update) if endpoints is not None else None

    def update(self, change: Change) -> None:
        """Consume one discovery change."""
        if self._closed:
            return
        if isinstance(change, Insert):
            endpoint = change.endpoint
            if endpoint.address in self._factories:
                self.balancer.add(endpoint)
                return
            factory = self.make_factory(endpoint)
            self._factories[endpoint.address] = factory
            self.balancer.add(endpoint, source=factory)
            return
        node = self.balancer.remove(change.address)
        if change.address not in self._factories:
            return
        factory = self._factories.pop(change.address)
        if node is not None and node.pending > 0:
            self._draining[node] = factory
        else:
            self._close_later(factory)

    async def acquire(self) -> Service[Req, Rep]:
        if self._closed:
            raise ServiceClosed("the load balancer is closed")
        lease = self.balancer.acquire()
        factory = self._factories.get(lease.node.address)
        if factory is None:  # a node added to the balancer directly, not through update()
            self._release(lease)
            raise ServiceClosed(f"no factory for {lease.node.address}", source=lease.node.address)
        try:
            session = await factory.acquire()
        except BaseException:
            self._release(lease)
            raise
        return _BalancedSession(session, lease, self)

    @property
    def status(self) -> Status:
        return Status.CLOSED if self._closed else self.balancer.status

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
        for address in list(self._factories):
            self.balancer.remove(address)
        factories = [*self._factories.values(), *self._draining.values(), *self._unclosed]
        self._factories.clear()
        self._draining.clear()
        self._unclosed.clear()
        for factory in factories:
            self._close_later(factory)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def factory_for(self, address: str) -> ServiceFactory[Req, Rep] | None:
        """The factory made for the endpoint at ``address`` (``None``: not one of ours)."""
        return self._factories.get(address)

    def _release(self, lease: Lease) -> None:
        lease.release()
        node = lease.node
        if node.pending == 0 and node in self._draining:
            self._close_later(self._draining.pop(node))

    release = _release
    """End a lease taken from the balancer directly (the mesh's fast lane)."""

    def _close_later(self, factory: ServiceFactory[Req, Rep]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a change applied outside the loop: close at our own close()
            self._unclosed.append(factory)
            return
        task = loop.create_task(factory.close())
        self._tasks.add(task)
        task.add_done_callback(self._closed_one)

    def _closed_one(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("closing a removed endpoint's factory failed", exc_info=task.exception())


class _BalancedSession(Generic[Req, Rep]):
    def __init__(
        self, session: Service[Req, Rep], lease: Lease, owner: BalancerFactory[Req, Rep]
    ) -> None:
        self.session = session
        self._lease = lease
        self._owner = owner

    def __call__(self, req: Req) -> Coroutine[Any, Any, Rep]:
        # the session's own coroutine: no frame of ours on every request's await chain
        return self.session(req)

    @property
    def status(self) -> Status:
        return self.session.status

    async def close(self) -> None:
        if self._lease.released:
            return
        self._owner._release(self._lease)
        await self.session.close()
