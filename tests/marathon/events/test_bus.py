"""EventBus: fan-out, filters, bounded queues that drop slow subscribers, close."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from roost.marathon.events import EventBus, app_terminated_event, group_change_success
from roost.marathon.events.bus import Subscription

TS = "2024-05-01T12:00:00.000Z"


def terminated(n: int) -> dict[str, Any]:
    return app_terminated_event(timestamp=TS, app_id=f"/app-{n}")


async def take_now(sub: Subscription) -> list[dict[str, Any]]:
    """Everything queued right now, without waiting."""
    out = []
    while sub.pending:
        out.append(await anext(sub))
    return out


async def test_every_subscriber_gets_every_event_in_publish_order() -> None:
    bus = EventBus()
    first, second = bus.subscribe(), bus.subscribe()
    for n in range(3):
        bus.publish(terminated(n))
    assert [e["appId"] for e in await take_now(first)] == ["/app-0", "/app-1", "/app-2"]
    assert [e["appId"] for e in await take_now(second)] == ["/app-0", "/app-1", "/app-2"]
    assert bus.subscriber_count == 2


async def test_a_waiting_subscriber_wakes_up_when_an_event_is_published() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    waiter = asyncio.create_task(anext(sub))
    await asyncio.sleep(0)
    assert not waiter.done()
    bus.publish(terminated(1))
    assert (await asyncio.wait_for(waiter, 5))["appId"] == "/app-1"


async def test_filter_delivers_only_the_asked_for_types() -> None:
    bus = EventBus()
    sub = bus.subscribe(["group_change_success"])
    bus.publish(terminated(1))
    bus.publish(group_change_success(timestamp=TS, group_id="/g", version=TS))
    assert [e["eventType"] for e in await take_now(sub)] == ["group_change_success"]


@pytest.mark.parametrize("event_types", [None, [], ()])
async def test_no_filter_or_an_empty_filter_means_every_type(event_types: Any) -> None:
    bus = EventBus()
    sub = bus.subscribe(event_types)
    bus.publish(terminated(1))
    assert sub.pending == 1


async def test_unknown_filter_names_are_accepted_and_match_nothing() -> None:
    bus = EventBus()
    sub = bus.subscribe(["no_such_event"])
    bus.publish(terminated(1))
    assert sub.pending == 0
    assert bus.subscriber_count == 1


@pytest.mark.parametrize(
    "event",
    [
        {"eventType": "scheduler_registered_event", "timestamp": TS},
        {"eventType": "made_up", "timestamp": TS},
        {"timestamp": TS},
        {"eventType": "app_terminated_event"},
        {"eventType": "app_terminated_event", "timestamp": 12},
    ],
)
def test_publishing_an_event_the_client_cannot_parse_is_a_programming_error(
    event: dict[str, Any],
) -> None:
    bus = EventBus()
    sub = bus.subscribe()
    with pytest.raises(ValueError):
        bus.publish(event)
    assert sub.pending == 0
    assert sum(bus.published.values()) == 0


def test_published_counts_events_by_type() -> None:
    bus = EventBus()
    bus.publish(terminated(1))
    bus.publish(terminated(2))
    bus.publish(group_change_success(timestamp=TS, group_id="/g", version=TS))
    assert bus.published == {"app_terminated_event": 2, "group_change_success": 1}


async def test_slow_subscriber_is_dropped_without_blocking_publisher_or_others() -> None:
    bus = EventBus()
    slow = bus.subscribe(max_queue=3)
    fast = bus.subscribe(max_queue=3)
    seen: list[str] = []
    for n in range(10):
        bus.publish(terminated(n))  # synchronous: returns even though `slow` never reads
        seen.extend(e["appId"] for e in await take_now(fast))
    assert seen == [f"/app-{n}" for n in range(10)]
    assert slow.overflowed and slow.closed
    assert slow.pending == 0  # its backlog is freed at once
    assert bus.dropped_subscribers == 1
    assert bus.subscriber_count == 1
    assert [e async for e in slow] == []


async def test_subscriber_keeps_up_within_its_queue_bound() -> None:
    bus = EventBus()
    sub = bus.subscribe(max_queue=3)
    for n in range(3):
        bus.publish(terminated(n))
    assert not sub.overflowed
    assert len(await take_now(sub)) == 3
    bus.publish(terminated(3))
    assert sub.pending == 1 and bus.dropped_subscribers == 0


def test_max_queue_must_be_positive() -> None:
    with pytest.raises(ValueError):
        EventBus().subscribe(max_queue=0)


async def test_close_ends_every_subscription_after_its_queued_events() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    waiting = bus.subscribe()
    waiter = asyncio.create_task(anext(waiting))
    await asyncio.sleep(0)
    bus.publish(terminated(1))
    bus.close()
    assert (await asyncio.wait_for(waiter, 5))["appId"] == "/app-1"
    assert [e["appId"] async for e in sub] == ["/app-1"]
    assert [e async for e in waiting] == []
    assert bus.subscriber_count == 0
    assert not sub.overflowed


async def test_a_blocked_iterator_ends_when_the_bus_closes() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    waiter = asyncio.create_task(anext(sub))
    await asyncio.sleep(0)
    bus.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiter, 5)


async def test_publish_and_subscribe_after_close_deliver_nothing() -> None:
    bus = EventBus()
    bus.close()
    bus.publish(terminated(1))
    sub = bus.subscribe()
    assert [e async for e in sub] == []
    assert bus.subscriber_count == 0
    with pytest.raises(ValueError):
        bus.publish({"eventType": "made_up", "timestamp": TS})


async def test_async_with_unsubscribes_on_exit() -> None:
    bus = EventBus()
    async with bus.subscribe() as sub:
        assert bus.subscriber_count == 1
    assert bus.subscriber_count == 0
    bus.publish(terminated(1))
    assert sub.pending == 0


async def test_aclose_unsubscribes_and_is_idempotent() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    await sub.aclose()
    await sub.aclose()
    assert bus.subscriber_count == 0
    assert sub.closed and not sub.overflowed


async def test_cancelled_wait_loses_no_event() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0):
            await anext(sub)
    bus.publish(terminated(7))
    assert (await anext(sub))["appId"] == "/app-7"
