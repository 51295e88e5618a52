"""Services and filters: "your server as a function" (Finagle ``Service.scala``, Tower).

* A :class:`Service` is an async function ``req -> rep`` with a :class:`Status` and
  ``close()``. Clients and servers are both services; a proxy is a server calling a client.
* A :class:`Filter` is ``(req, service) -> rep``: timeouts, retries, stats and admission are
  filters layered around a service, apart from application logic.
  ``filter.and_then(service)`` is a service; ``filter.and_then(filter)`` is a filter; the
  first filter added sees the request first.
* A :class:`ServiceFactory` hands out sessions (``acquire()``); closing a session releases it.
  Pools, load balancers and failure accrual are factories. :class:`FactoryToService` turns a
  factory into a service that acquires, calls and releases per request.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, Generic, Protocol, TypeVar, overload, runtime_checkable

Req = TypeVar("Req")
Rep = TypeVar("Rep")
ReqIn = TypeVar("ReqIn")
RepOut = TypeVar("RepOut")
ReqOut = TypeVar("ReqOut")
RepIn = TypeVar("RepIn")
Req_contra = TypeVar("Req_contra", contravariant=True)
Rep_co = TypeVar("Rep_co", covariant=True)


class Status(enum.IntEnum):
    """Health of a service or factory; higher is healthier (``Open > Busy > Closed``)."""

    CLOSED = 0
    """Gone for good: never send to it."""
    BUSY = 1
    """Alive but should not get traffic now (marked dead, probing, draining)."""
    OPEN = 2
    """Ready for requests."""

    @staticmethod
    def worst(*statuses: Status) -> Status:
        return min(statuses, default=Status.OPEN)

    @staticmethod
    def best(*statuses: Status) -> Status:
        return max(statuses, default=Status.CLOSED)


@runtime_checkable
class Service(Protocol[Req_contra, Rep_co]):
    async def __call__(self, req: Req_contra) -> Rep_co: ...

    @property
    def status(self) -> Status: ...

    async def close(self) -> None: ...


class ServiceBase(abc.ABC, Generic[Req, Rep]):
    """A convenient base: ``status`` OPEN until closed, ``close()`` marks it CLOSED."""

    _closed = False

    @abc.abstractmethod
    async def __call__(self, req: Req) -> Rep: ...

    @property
    def status(self) -> Status:
        return Status.CLOSED if self._closed else Status.OPEN

    async def close(self) -> None:
        self._closed = True


class FnService(ServiceBase[Req, Rep]):
    """A service from an async function: ``FnService(handler)``."""

    def __init__(self, fn: Callable[[Req], Awaitable[Rep]]) -> None:
        self.fn = fn

    async def __call__(self, req: Req) -> Rep:
        return await self.fn(req)


class Filter(abc.ABC, Generic[ReqIn, RepOut, ReqOut, RepIn]):
    """``(req, service) -> rep``; subclass and implement :meth:`__call__`."""

    @abc.abstractmethod
    async def __call__(self, req: ReqIn, service: Service[ReqOut, RepIn]) -> RepOut: ...

    @overload
    def and_then(self, nxt: Filter[ReqOut, RepIn, Any, Any]) -> Filter[ReqIn, RepOut, Any, Any]: ...

    @overload
    def and_then(self, nxt: Service[ReqOut, RepIn]) -> Service[ReqIn, RepOut]: ...

    def and_then(self, nxt: Any) -> Any:
        if isinstance(nxt, Filter):
            return AndThenFilter(self, nxt)
        return FilteredService(self, nxt)


SimpleFilter = Filter[Req, Rep, Req, Rep]
"""A filter that keeps the request and response types."""


class AndThenFilter(Filter[Any, Any, Any, Any]):
    def __init__(self, first: Filter[Any, Any, Any, Any], second: Filter[Any, Any, Any, Any]):
        self.first = first
        self.second = second

    async def __call__(self, req: Any, service: Service[Any, Any]) -> Any:
        return await self.first(req, FilteredService(self.second, service))


class FilteredService(Generic[ReqIn, RepOut, ReqOut, RepIn]):
    """``filter`` applied to ``inner``; status and close are the inner service's."""

    def __init__(
        self, filter: Filter[ReqIn, RepOut, ReqOut, RepIn], inner: Service[ReqOut, RepIn]
    ) -> None:
        self.filter = filter
        self.inner = inner

    def __call__(self, req: ReqIn) -> Coroutine[Any, Any, RepOut]:
        # no coroutine frame of its own: a stack of n filters costs n frames, not 2n
        return self.filter(req, self.inner)

    @property
    def status(self) -> Status:
        return self.inner.status

    async def close(self) -> None:
        await self.inner.close()


class ServiceFactory(Protocol[Req_contra, Rep_co]):
    """Hands out sessions; ``await session.close()`` releases one."""

    async def acquire(self) -> Service[Req_contra, Rep_co]: ...

    @property
    def status(self) -> Status: ...

    async def close(self) -> None: ...


class ConstFactory(Generic[Req, Rep]):
    """A factory that always hands out the same service (closing a session is a no-op)."""

    def __init__(self, service: Service[Req, Rep]) -> None:
        self.service = service

    async def acquire(self) -> Service[Req, Rep]:
        return _Borrowed(self.service)

    @property
    def status(self) -> Status:
        return self.service.status

    async def close(self) -> None:
        await self.service.close()


class _Borrowed(Generic[Req, Rep]):
    def __init__(self, service: Service[Req, Rep]) -> None:
        self.service = service

    async def __call__(self, req: Req) -> Rep:
        return await self.service(req)

    @property
    def status(self) -> Status:
        return self.service.status

    async def close(self) -> None:
        pass


class FactoryToService(Generic[Req, Rep]):
    """Acquire a session per request, call it, release it (Finagle ``FactoryToService``)."""

    def __init__(self, factory: ServiceFactory[Req, Rep]) -> None:
        self.factory = factory

    async def __call__(self, req: Req) -> Rep:
        session = await self.factory.acquire()
        try:
            return await session(req)
        finally:
            await session.close()

    @property
    def status(self) -> Status:
        return self.factory.status

    async def close(self) -> None:
        await self.factory.close()


class FilteredFactory(Generic[ReqIn, RepOut, ReqOut, RepIn]):
    """A factory whose sessions all pass through ``filter`` (a per-endpoint timeout, stats)."""

    def __init__(
        self, filter: Filter[ReqIn, RepOut, ReqOut, RepIn], inner: ServiceFactory[ReqOut, RepIn]
    ) -> None:
        self.filter = filter
        self.inner = inner

    async def acquire(self) -> Service[ReqIn, RepOut]:
        return FilteredService(self.filter, await self.inner.acquire())

    @property
    def status(self) -> Status:
        return self.inner.status

    async def close(self) -> None:
        await self.inner.close()


def filters_of(service: object) -> Iterator[Any]:
    """The filters of a stack built of :class:`FilteredService`\\ s, outermost first (what a
    caller that does a stack's work itself — the mesh's fast lane — needs to reach)."""
    while isinstance(service, FilteredService):
        yield service.filter
        filt = service.filter
        if isinstance(filt, AndThenFilter):
            yield filt.first
            yield filt.second
        service = service.inner
