"""Services, filters and factories compose as functions do."""

from __future__ import annotations

from typing import Any

from roost.rpc.service import (
    ConstFactory,
    FactoryToService,
    Filter,
    FnService,
    Service,
    Status,
)


class Tag(Filter[str, str, str, str]):
    """Appends its name on the way in and on the way out."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def __call__(self, req: str, service: Service[str, str]) -> str:
        return f"{await service(f'{req}>{self.name}')}<{self.name}"


async def echo(req: str) -> str:
    return f"[{req}]"


async def test_the_first_filter_added_sees_the_request_first() -> None:
    service = Tag("a").and_then(Tag("b")).and_then(FnService(echo))
    assert await service("r") == "[r>a>b]<b<a"


async def test_filter_composition_is_associative() -> None:
    left = Tag("a").and_then(Tag("b")).and_then(Tag("c")).and_then(FnService(echo))
    right = Tag("a").and_then(Tag("b").and_then(Tag("c").and_then(FnService(echo))))
    assert await left("r") == await right("r")


async def test_a_filtered_service_has_the_inner_status_and_closes_it() -> None:
    inner = FnService(echo)
    service = Tag("a").and_then(inner)
    assert service.status is Status.OPEN
    await service.close()
    assert inner.status is Status.CLOSED and service.status is Status.CLOSED


async def test_factory_to_service_releases_every_session() -> None:
    released: list[int] = []

    class Session:
        def __init__(self, n: int) -> None:
            self.n = n

        async def __call__(self, req: str) -> str:
            if req == "boom":
                raise ValueError("boom")
            return f"{req}@{self.n}"

        @property
        def status(self) -> Status:
            return Status.OPEN

        async def close(self) -> None:
            released.append(self.n)

    class Factory:
        count = 0

        async def acquire(self) -> Any:
            self.count += 1
            return Session(self.count)

        @property
        def status(self) -> Status:
            return Status.BUSY

        async def close(self) -> None:
            pass

    service = FactoryToService(Factory())
    assert await service("x") == "x@1"
    try:
        await service("boom")
    except ValueError:
        pass
    assert released == [1, 2]  # released after success and after failure
    assert service.status is Status.BUSY


async def test_status_orders_open_over_busy_over_closed() -> None:
    assert Status.worst(Status.OPEN, Status.BUSY) is Status.BUSY
    assert Status.best(Status.CLOSED, Status.BUSY) is Status.BUSY
    assert Status.OPEN > Status.BUSY > Status.CLOSED


async def test_a_const_factory_lends_without_closing() -> None:
    inner = FnService(echo)
    factory = ConstFactory(inner)
    session = await factory.acquire()
    assert await session("q") == "[q]"
    await session.close()
    assert inner.status is Status.OPEN


async def test_a_filtered_factory_filters_every_session() -> None:
    from roost.rpc.service import FilteredFactory

    factory = FilteredFactory(Tag("t"), ConstFactory(FnService(echo)))
    session = await factory.acquire()
    assert await session("r") == "[r>t]<t"
    assert factory.status is Status.OPEN
