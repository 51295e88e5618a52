"""GET /v2/events over a real loopback server, read with httpx and with the marathon client."""

from __future__ import annotations

import asyncio
import collections
import collections.abc
import concurrent.futures
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# marathon 0.13.0 still uses ``collections.Iterable`` (reference §4.4).
collections.Iterable = collections.abc.Iterable  # type: ignore[attr-defined]

from marathon.client import MarathonClient  # noqa: E402
from marathon.models.deployment import MarathonDeploymentPlan  # noqa: E402
from marathon.models.events import (  # noqa: E402
    MarathonDeploymentInfo,
    MarathonDeploymentSuccess,
    MarathonEventStreamAttached,
    MarathonStatusUpdateEvent,
)

from roost.core.clock import ManualClock  # noqa: E402
from roost.core.http import HttpServer  # noqa: E402
from roost.marathon.events import (  # noqa: E402
    EventBus,
    app_terminated_event,
    deployment_info,
    deployment_success,
    event_stream,
    status_update_event,
)
from roost.marathon.events.sse import HEARTBEAT  # noqa: E402

T = TypeVar("T")
WAIT = 10.0
STREAM = {"Accept": "text/event-stream"}
STEP = {"actions": [{"action": "StartApplication", "app": "/web"}]}
GROUP = {"id": "/", "apps": [], "groups": [], "pods": [], "dependencies": []}


def marathon_timestamp(clock: ManualClock) -> str:
    now = clock.time()
    millis = int(now * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{millis:03d}Z"


@dataclass
class Served:
    bus: EventBus
    url: str
    clock: ManualClock
    settings: dict[str, Any] = field(default_factory=dict)

    def ts(self) -> str:
        return marathon_timestamp(self.clock)

    def status_update(self, task: str = "web.1") -> dict[str, Any]:
        return status_update_event(
            timestamp=self.ts(),
            slave_id="a1-S0",
            task_id=task,
            task_status="TASK_RUNNING",
            app_id="/web",
            host="node-1",
            ports=[31000],
            version=self.ts(),
        )

    def plan(self) -> dict[str, Any]:
        return {
            "id": "d-1",
            "version": self.ts(),
            "steps": [STEP],
            "original": {**GROUP, "version": self.ts()},
            "target": {**GROUP, "version": self.ts()},
        }

    async def wait_for_subscribers(self, n: int) -> None:
        async with asyncio.timeout(WAIT):
            while self.bus.subscriber_count != n:
                await asyncio.sleep(0.01)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    bus = EventBus()
    clock = ManualClock()
    settings: dict[str, Any] = {"heartbeat_interval": 15.0}

    async def events(request: Request) -> Response:
        return await event_stream(
            request, bus, timestamp=lambda: marathon_timestamp(clock), **settings
        )

    server = HttpServer(Starlette(routes=[Route("/v2/events", events)]), "127.0.0.1", 0)
    await server.start()
    try:
        yield Served(bus, f"http://127.0.0.1:{server.port}/v2/events", clock, settings)
    finally:
        bus.close()
        await server.stop()


class SseReader:
    """Reads one streamed response line by line (httpx allows a single pass over it)."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def frames(self, n: int) -> list[tuple[str, dict[str, Any]]]:
        """The next ``n`` frames as (event name, data) pairs; checks name == eventType."""
        out: list[tuple[str, dict[str, Any]]] = []
        name = ""
        async with asyncio.timeout(WAIT):
            while len(out) < n:
                line = await anext(self._lines)
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    data = json.loads(line.removeprefix("data: "))
                    assert data["eventType"] == name
                    out.append((name, data))
        return out

    async def rest(self) -> list[str]:
        """Every remaining non-blank line, up to the end of the response."""
        async with asyncio.timeout(WAIT):
            return [line async for line in self._lines if line]


async def frames(response: httpx.Response, n: int) -> list[tuple[str, dict[str, Any]]]:
    return await SseReader(response).frames(n)


def in_thread(fn: Callable[[], T]) -> asyncio.Future[T]:
    """Run blocking client code on a daemon thread (a stuck client cannot hang the loop)."""
    result: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        try:
            result.set_result(fn())
        except BaseException as e:
            result.set_exception(e)

    threading.Thread(target=run, daemon=True).start()
    return asyncio.wrap_future(result)


async def test_stream_opens_with_event_stream_attached_for_the_client_address(
    served: Served,
) -> None:
    async with httpx.AsyncClient() as client, client.stream("GET", served.url, headers=STREAM) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert "no-cache" in r.headers["cache-control"]
        assert "content-length" not in r.headers
        [(name, data)] = await frames(r, 1)
    assert name == "event_stream_attached"
    assert data["remoteAddress"] == "127.0.0.1"
    assert data["timestamp"] == served.ts()


async def test_published_events_arrive_in_order_as_one_line_frames(served: Served) -> None:
    async with httpx.AsyncClient() as client, client.stream("GET", served.url, headers=STREAM) as r:
        sse = SseReader(r)
        await sse.frames(1)
        plan = served.plan()
        served.bus.publish(served.status_update())
        served.bus.publish(deployment_info(timestamp=served.ts(), plan=plan, current_step=STEP))
        served.bus.publish(deployment_success(timestamp=served.ts(), plan=plan))
        got = await sse.frames(3)
    assert [name for name, _ in got] == [
        "status_update_event",
        "deployment_info",
        "deployment_success",
    ]
    assert got[0][1]["taskStatus"] == "TASK_RUNNING"
    assert got[1][1]["plan"]["original"]["id"] == "/"
    assert got[2][1]["plan"]["target"]["id"] == "/"


async def test_repeated_event_type_params_filter_the_stream_attached_included(
    served: Served,
) -> None:
    params = [("event_type", "status_update_event"), ("event_type", "deployment_success")]
    async with (
        httpx.AsyncClient() as client,
        client.stream("GET", served.url, headers=STREAM, params=params) as r,
    ):
        await served.wait_for_subscribers(1)
        served.bus.publish(app_terminated_event(timestamp=served.ts(), app_id="/web"))
        served.bus.publish(served.status_update())
        served.bus.publish(deployment_success(timestamp=served.ts(), plan=served.plan()))
        got = await frames(r, 2)
    assert [name for name, _ in got] == ["status_update_event", "deployment_success"]


async def test_unknown_event_type_filter_is_accepted_and_matches_nothing(served: Served) -> None:
    served.settings["heartbeat_interval"] = 0.05
    params = {"event_type": "no_such_event"}
    async with (
        httpx.AsyncClient() as client,
        client.stream("GET", served.url, headers=STREAM, params=params) as r,
    ):
        assert r.status_code == 200
        await served.wait_for_subscribers(1)
        served.bus.publish(served.status_update())
        async with asyncio.timeout(WAIT):
            first = await anext(r.aiter_raw())
    assert first == HEARTBEAT


async def test_heartbeat_comment_is_sent_after_silence(served: Served) -> None:
    served.settings["heartbeat_interval"] = 0.05
    received = b""
    async with httpx.AsyncClient() as client, client.stream("GET", served.url, headers=STREAM) as r:
        async with asyncio.timeout(WAIT):
            async for chunk in r.aiter_raw():
                received += chunk
                if received.count(HEARTBEAT) >= 2:
                    break
    assert received.startswith(b"event: event_stream_attached\ndata: {")
    assert received.endswith(HEARTBEAT)


@pytest.mark.parametrize(
    "headers", [{}, {"Accept": "application/json"}, {"Accept": "*/*"}, {"Accept": "text/html"}]
)
async def test_request_not_accepting_event_stream_gets_405_json(
    served: Served, headers: dict[str, str]
) -> None:
    async with httpx.AsyncClient() as client:
        r = await client.get(served.url, headers=headers)
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/json"
    assert "text/event-stream" in r.json()["message"]
    assert served.bus.subscriber_count == 0


async def test_event_stream_listed_among_other_accepted_types_is_enough(served: Served) -> None:
    headers = {"Accept": "application/json, text/event-stream;q=0.9"}
    async with (
        httpx.AsyncClient() as client,
        client.stream("GET", served.url, headers=headers) as r,
    ):
        assert r.status_code == 200
        [(name, _)] = await frames(r, 1)
    assert name == "event_stream_attached"


async def test_client_disconnect_unsubscribes_and_publishes_detached(served: Served) -> None:
    observer = served.bus.subscribe(["event_stream_detached"])
    async with httpx.AsyncClient() as client, client.stream("GET", served.url, headers=STREAM) as r:
        await frames(r, 1)
        assert served.bus.subscriber_count == 2
    async with asyncio.timeout(WAIT):
        detached = await anext(observer)
    assert detached["remoteAddress"] == "127.0.0.1"
    await served.wait_for_subscribers(1)


async def test_plan_format_light_slims_only_deployment_success_and_failed(served: Served) -> None:
    params = {"plan-format": "light"}
    async with (
        httpx.AsyncClient() as client,
        client.stream("GET", served.url, headers=STREAM, params=params) as r,
    ):
        sse = SseReader(r)
        await sse.frames(1)
        plan = served.plan()
        served.bus.publish(deployment_info(timestamp=served.ts(), plan=plan, current_step=STEP))
        served.bus.publish(deployment_success(timestamp=served.ts(), plan=plan))
        [(_, info), (_, success)] = await sse.frames(2)
    assert {"original", "target"} <= set(info["plan"])
    assert set(success["plan"]) == {"id", "version", "steps"}
    assert success["id"] == "d-1"


async def test_without_plan_format_deployment_success_keeps_the_full_plan(
    served: Served,
) -> None:
    async with httpx.AsyncClient() as client, client.stream("GET", served.url, headers=STREAM) as r:
        sse = SseReader(r)
        await sse.frames(1)
        event = deployment_success(timestamp=served.ts(), plan=served.plan())
        served.bus.publish(event)
        [(_, success)] = await sse.frames(1)
    assert {"original", "target"} <= set(success["plan"])
    assert {"original", "target"} <= set(event["plan"])  # the shared event was not mutated


async def test_client_that_falls_too_far_behind_is_disconnected(served: Served) -> None:
    served.settings["max_queue"] = 2
    observer = served.bus.subscribe(["event_stream_detached"])
    async with httpx.AsyncClient() as client, client.stream("GET", served.url, headers=STREAM) as r:
        sse = SseReader(r)
        await sse.frames(1)
        for n in range(10):  # one synchronous burst: the stream cannot drain in between
            served.bus.publish(served.status_update(f"web.{n}"))
        rest = await sse.rest()
    assert rest == []
    assert served.bus.dropped_subscribers == 1
    async with asyncio.timeout(WAIT):
        assert (await anext(observer))["eventType"] == "event_stream_detached"


async def test_closing_the_bus_ends_open_streams(served: Served) -> None:
    async with httpx.AsyncClient() as client, client.stream("GET", served.url, headers=STREAM) as r:
        sse = SseReader(r)
        await sse.frames(1)
        served.bus.publish(served.status_update())
        served.bus.close()
        rest = await sse.rest()
    assert rest[0] == "event: status_update_event"
    assert len(rest) == 2


async def test_marathon_client_event_stream_yields_event_objects_and_filters(
    served: Served,
) -> None:
    wanted = ["status_update_event", "deployment_info", "deployment_success"]

    def read_three() -> list[Any]:
        stream = MarathonClient(served.url.removesuffix("/v2/events")).event_stream(
            event_types=wanted
        )
        return [next(stream) for _ in range(3)]

    received = in_thread(read_three)
    await served.wait_for_subscribers(1)
    plan = served.plan()
    served.bus.publish(app_terminated_event(timestamp=served.ts(), app_id="/web"))
    served.bus.publish(served.status_update())
    served.bus.publish(deployment_info(timestamp=served.ts(), plan=plan, current_step=STEP))
    served.bus.publish(deployment_success(timestamp=served.ts(), plan=plan))
    status, info, success = await asyncio.wait_for(received, WAIT)
    assert isinstance(status, MarathonStatusUpdateEvent)
    assert status.task_status == "TASK_RUNNING" and status.app_id == "/web"
    assert isinstance(info, MarathonDeploymentInfo)
    assert isinstance(info.plan, MarathonDeploymentPlan)
    assert info.plan.steps[0].actions[0].app == "/web"
    assert isinstance(success, MarathonDeploymentSuccess)
    assert success.id == "d-1"


async def test_marathon_client_without_filter_sees_its_own_attach_first(served: Served) -> None:
    def read_two() -> list[Any]:
        stream = MarathonClient(served.url.removesuffix("/v2/events")).event_stream()
        return [next(stream) for _ in range(2)]

    received = in_thread(read_two)
    await served.wait_for_subscribers(1)
    served.bus.publish(served.status_update())
    attached, status = await asyncio.wait_for(received, WAIT)
    assert isinstance(attached, MarathonEventStreamAttached)
    assert attached.remote_address == "127.0.0.1"
    assert isinstance(status, MarathonStatusUpdateEvent)
