"""BalancerFactory: the asyncio ServiceFactory around a balancer."""

from __future__ import annotations

import random

import pytest

from roost.core.clock import ManualClock
from roost.rpc.accrual import FailureAccrualFactory, consecutive_failures
from roost.rpc.endpoints import Endpoint, EndpointSet, Insert
from roost.rpc.errors import ConnectionFailed, NoBrokersAvailable, ServiceClosed
from roost.rpc.loadbalancer import BalancerFactory, P2CLeastLoaded, P2CPeakEwma
from roost.rpc.service import FactoryToService, FnService, Service, Status


class FakeFactory:
    """One endpoint's factory: answers with its address, or fails to connect."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.address = endpoint.address
        self.closed = False
        self.healthy = Status.OPEN
        self.refuse = False
        self.acquired = 0

    async def acquire(self) -> Service[str, str]:
        if self.refuse:
            raise ConnectionFailed("refused", source=self.address)
        self.acquired += 1

        async def answer(req: str) -> str:
            if req == "fail":
                raise RuntimeError("boom")
            return self.address

        return FnService(answer)

    @property
    def status(self) -> Status:
        return Status.CLOSED if self.closed else self.healthy

    async def close(self) -> None:
        self.closed = True


class Fakes(dict[str, FakeFactory]):
    def __call__(self, endpoint: Endpoint) -> FakeFactory:
        self[endpoint.address] = FakeFactory(endpoint)
        return self[endpoint.address]


A, B = Endpoint("10.0.0.1:80"), Endpoint("10.0.0.2:80")


def balanced(*endpoints: Endpoint) -> tuple[BalancerFactory[str, str], Fakes, EndpointSet]:
    fakes = Fakes()
    endpoint_set = EndpointSet(endpoints)
    balancer = P2CLeastLoaded(clock=ManualClock(), rng=random.Random(1))
    return BalancerFactory(balancer, fakes, endpoint_set), fakes, endpoint_set


async def test_each_inserted_endpoint_gets_its_own_factory_and_requests_reach_it() -> None:
    factory, fakes, _ = balanced(A, B)
    assert set(fakes) == {A.address, B.address}
    service = FactoryToService(factory)
    answers = {await service("hi") for _ in range(20)}
    assert answers == {A.address, B.address}
    assert factory.status is Status.OPEN


async def test_a_session_holds_the_node_until_it_is_closed() -> None:
    factory, _, _ = balanced(A)
    session = await factory.acquire()
    node = factory.balancer.node(A.address)
    assert node is not None and node.pending == 1
    assert await session("x") == A.address
    await session.close()
    await session.close()
    assert node.pending == 0


async def test_the_session_close_records_the_round_trip_for_peak_ewma() -> None:
    clock = ManualClock(start=0.0)
    fakes = Fakes()
    factory = BalancerFactory(P2CPeakEwma(clock=clock, rng=random.Random(1)), fakes)
    factory.update(Insert(A))
    session = await factory.acquire()
    clock.advance(0.25)
    await session.close()
    node = factory.balancer.node(A.address)
    assert node is not None and node.ema == 250_000_000.0


async def test_a_removed_endpoint_is_not_picked_and_closes_after_its_last_session() -> None:
    factory, fakes, endpoints = balanced(A, B)
    sessions = [await factory.acquire() for _ in range(4)]
    endpoints.remove(A.address)
    assert not fakes[A.address].closed  # a session on it is still out
    for _ in range(10):
        session = await factory.acquire()
        assert await session("x") == B.address
        await session.close()
    for session in sessions:
        await session.close()
    await factory.close()  # lets the background close finish
    assert fakes[A.address].closed


async def test_a_removed_idle_endpoint_is_closed_right_away() -> None:
    factory, fakes, endpoints = balanced(A, B)
    endpoints.remove(B.address)
    await factory.close()
    assert fakes[B.address].closed


async def test_a_new_weight_keeps_the_endpoint_factory() -> None:
    factory, fakes, endpoints = balanced(A)
    first = fakes[A.address]
    endpoints.insert(Endpoint(A.address, weight=4.0))
    assert fakes[A.address] is first
    node = factory.balancer.node(A.address)
    assert node is not None and node.weight == 4.0 and node.source is first


async def test_a_failed_acquisition_releases_the_node_and_propagates() -> None:
    factory, fakes, _ = balanced(A)
    fakes[A.address].refuse = True
    with pytest.raises(ConnectionFailed):
        await factory.acquire()
    node = factory.balancer.node(A.address)
    assert node is not None and node.pending == 0


async def test_a_busy_endpoint_factory_is_avoided() -> None:
    factory, fakes, _ = balanced(A, B)
    fakes[A.address].healthy = Status.BUSY
    service = FactoryToService(factory)
    assert {await service("x") for _ in range(20)} == {B.address}


async def test_no_endpoints_means_no_brokers_available() -> None:
    factory, _, _ = balanced()
    assert factory.status is Status.BUSY
    with pytest.raises(NoBrokersAvailable):
        await factory.acquire()


async def test_closing_closes_every_endpoint_factory_and_refuses_acquisition() -> None:
    factory, fakes, endpoints = balanced(A, B)
    await factory.close()
    await factory.close()
    assert all(f.closed for f in fakes.values())
    assert factory.status is Status.CLOSED
    with pytest.raises(ServiceClosed):
        await factory.acquire()
    endpoints.insert(Endpoint("10.0.0.3:80"))  # no longer subscribed
    assert "10.0.0.3:80" not in fakes


async def test_failure_accrual_under_the_balancer_takes_a_failing_endpoint_out() -> None:
    clock = ManualClock()
    fakes = Fakes()

    def make(endpoint: Endpoint) -> FailureAccrualFactory[str, str]:
        return FailureAccrualFactory(fakes(endpoint), consecutive_failures(2, [5.0]), clock)

    factory = BalancerFactory(
        P2CLeastLoaded(clock=clock, rng=random.Random(1)), make, EndpointSet([A, B])
    )
    fakes[A.address].refuse = True
    service = FactoryToService(factory)
    outcomes = []
    for _ in range(20):
        try:
            outcomes.append(await service("x"))
        except ConnectionFailed:
            outcomes.append("refused")
    assert outcomes.count("refused") == 2  # then A is BUSY and avoided
    assert factory.balancer.busy == 1
    clock.advance(5.0)
    assert factory.balancer.busy == 0  # probe open: A is back in the pick
