"""SchedulerDriver against a scripted master on loopback: transport rules and event handling."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.responses import PlainTextResponse, Response

from roost.cluster.scheduler import CallRejected, NotSubscribed, SchedulerDriver

from .scheduler_fakes import FakeMaster, Recorder, eventually

INFO = {"name": "test-fw", "user": "tester"}


@pytest.fixture
async def driver(fake_master: FakeMaster) -> AsyncIterator[tuple[SchedulerDriver, Recorder]]:
    rec = Recorder()
    d = SchedulerDriver(fake_master.address, INFO, rec, reconnect_backoff=(0.05, 0.2))
    await d.start()
    yield d, rec
    await d.stop(failover=True)


async def test_subscribes_and_reports_the_framework_id(
    driver: Any, fake_master: FakeMaster
) -> None:
    d, rec = driver
    assert await d.wait_subscribed() == "F-0001"
    assert d.framework_id == "F-0001" and d.stream_id == "stream-1"
    await eventually(lambda: "subscribed" in rec.names())
    assert rec.seen[0][1:] == ("F-0001", {"id": "fake", "port": fake_master.server.port})
    first = fake_master.subscribes[0]
    assert "framework_id" not in first
    assert first["subscribe"]["framework_info"] == INFO


async def test_user_defaults_to_the_current_user(fake_master: FakeMaster) -> None:
    d = SchedulerDriver(fake_master.address, {"name": "fw"}, Recorder())
    assert d.framework_info["user"]


async def test_calls_carry_stream_id_and_framework_id(driver: Any, fake_master: FakeMaster) -> None:
    d, _ = driver
    await d.wait_subscribed()
    await d.decline(["O1", "O2"], refuse_seconds=60)
    await d.kill("t1", agent_id="A1")
    await d.message("A1", "E1", b"ping")
    # The implicit RECONCILE after subscribing goes out concurrently and may land among these.
    mine = [(b, sid) for b, sid in fake_master.calls if b["type"] != "RECONCILE"]
    assert [b["type"] for b, _ in mine] == ["DECLINE", "KILL", "MESSAGE"]
    assert {sid for _, sid in fake_master.calls} == {"stream-1"}
    body = mine[0][0]
    assert body == {
        "type": "DECLINE",
        "framework_id": {"value": "F-0001"},
        "decline": {
            "offer_ids": [{"value": "O1"}, {"value": "O2"}],
            "filters": {"refuse_seconds": 60.0},
        },
    }
    assert mine[1][0]["kill"]["agent_id"] == {"value": "A1"}
    assert base64.b64decode(mine[2][0]["message"]["data"]) == b"ping"


async def test_implicit_reconciliation_follows_the_subscribe(
    driver: Any, fake_master: FakeMaster
) -> None:
    d, _ = driver
    await d.wait_subscribed()
    await eventually(lambda: bool(fake_master.calls_of("RECONCILE")))
    assert fake_master.calls_of("RECONCILE")[0]["reconcile"] == {"tasks": []}


async def test_a_rejected_call_raises_with_the_masters_message(
    driver: Any, fake_master: FakeMaster
) -> None:
    d, _ = driver
    await d.wait_subscribed()
    fake_master.call_reply = (400, "Failed to validate scheduler::Call: no offer_ids")
    with pytest.raises(CallRejected) as err:
        await d.accept([], [])
    assert err.value.status == 400
    assert err.value.master_message == "Failed to validate scheduler::Call: no offer_ids"
    assert not err.value.retryable


async def test_calls_before_subscribing_raise_not_subscribed(fake_master: FakeMaster) -> None:
    d = SchedulerDriver(fake_master.address, INFO, Recorder())
    with pytest.raises(NotSubscribed):
        await d.revive()


async def test_events_reach_their_callbacks(driver: Any, fake_master: FakeMaster) -> None:
    d, rec = driver
    await d.wait_subscribed()
    offer = {"id": {"value": "O1"}, "agent_id": {"value": "A1"}}
    fake_master.send({"type": "OFFERS", "offers": {"offers": [offer]}})
    fake_master.send({"type": "RESCIND", "rescind": {"offer_id": {"value": "O1"}}})
    data = base64.b64encode(b"hi").decode()
    fake_master.send(
        {
            "type": "MESSAGE",
            "message": {"agent_id": {"value": "A1"}, "executor_id": {"value": "E1"}, "data": data},
        }
    )
    fake_master.send({"type": "FAILURE", "failure": {"agent_id": {"value": "A1"}}})
    fake_master.send({"type": "HEARTBEAT"})
    fake_master.send({"type": "SOMETHING_NEW", "something_new": {}})
    await eventually(lambda: "heartbeat" in rec.names())
    assert rec.seen[1:] == [
        ("offers", [offer]),
        ("rescind", "O1"),
        ("message", "A1", "E1", b"hi"),
        ("failure", "A1", None, None),
        ("heartbeat",),
    ]


def _update(task: str, uuid: bytes | None = None, state: str = "TASK_RUNNING") -> dict[str, Any]:
    status: dict[str, Any] = {
        "task_id": {"value": task},
        "agent_id": {"value": "A1"},
        "state": state,
    }
    if uuid is not None:
        status["uuid"] = base64.b64encode(uuid).decode()
    return {"type": "UPDATE", "update": {"status": status}}


async def test_updates_with_a_uuid_are_acknowledged_after_the_callback(
    driver: Any, fake_master: FakeMaster
) -> None:
    d, rec = driver
    order: list[str] = []

    async def on_update(driver: SchedulerDriver, status: dict[str, Any]) -> None:
        order.append(f"callback {len(fake_master.calls_of('ACKNOWLEDGE'))} acks")

    rec.hooks["update"] = on_update
    await d.wait_subscribed()
    fake_master.send(_update("t1", b"u" * 16))
    fake_master.send(_update("t2"))  # master-generated: no uuid, no ack
    await eventually(lambda: rec.names().count("update") == 2)
    await eventually(lambda: len(fake_master.calls_of("ACKNOWLEDGE")) == 1)
    await asyncio.sleep(0.05)
    # t1's ack waits for t1's callback; it is sent in the background, so t2's callback may
    # run before or after it goes out.
    assert order[0] == "callback 0 acks"
    assert len(order) == 2
    assert fake_master.calls_of("ACKNOWLEDGE") == [
        {
            "type": "ACKNOWLEDGE",
            "framework_id": {"value": "F-0001"},
            "acknowledge": {
                "agent_id": {"value": "A1"},
                "task_id": {"value": "t1"},
                "uuid": base64.b64encode(b"u" * 16).decode(),
            },
        }
    ]


async def test_a_failing_update_callback_withholds_the_ack(
    driver: Any, fake_master: FakeMaster
) -> None:
    d, rec = driver

    async def boom(driver: SchedulerDriver, status: dict[str, Any]) -> None:
        raise RuntimeError("bug in the framework")

    rec.hooks["update"] = boom
    await d.wait_subscribed()
    fake_master.send(_update("t1", b"u" * 16))
    fake_master.send({"type": "HEARTBEAT"})
    await eventually(lambda: "heartbeat" in rec.names())
    assert fake_master.calls_of("ACKNOWLEDGE") == []
    assert d.subscribed  # the driver carries on


async def test_implicit_acknowledgements_can_be_turned_off(fake_master: FakeMaster) -> None:
    rec = Recorder()
    d = SchedulerDriver(fake_master.address, INFO, rec, implicit_acknowledgements=False)
    await d.start()
    await d.wait_subscribed()
    fake_master.send(_update("t1", b"u" * 16))
    fake_master.send({"type": "HEARTBEAT"})
    await eventually(lambda: "heartbeat" in rec.names())
    assert fake_master.calls_of("ACKNOWLEDGE") == []
    await d.acknowledge("A1", "t1", b"u" * 16)
    assert len(fake_master.calls_of("ACKNOWLEDGE")) == 1
    await d.stop(failover=True)


async def test_follows_the_leader_redirect(fake_master: FakeMaster) -> None:
    follower = FakeMaster()
    follower.on_subscribe = lambda n: Response(
        status_code=307, headers={"Location": f"//{fake_master.address}/api/v1/scheduler"}
    )
    await follower.server.start()
    try:
        d = SchedulerDriver(follower.address, INFO, Recorder())
        await d.start()
        assert await d.wait_subscribed() == "F-0001"
        assert d.master == f"http://{fake_master.address}"
        await d.suppress()
        assert fake_master.calls_of("SUPPRESS") and not follower.calls
        await d.stop(failover=True)
    finally:
        await follower.server.stop()


async def test_a_silent_stream_is_dead_and_the_driver_resubscribes_with_its_id(
    fake_master: FakeMaster,
) -> None:
    fake_master.heartbeat = 0.1
    rec = Recorder()
    d = SchedulerDriver(
        fake_master.address,
        INFO,
        rec,
        reconnect_backoff=(0.01, 0.05),
        heartbeat_timeout_factor=2.0,
    )
    await d.start()
    await d.wait_subscribed()
    await eventually(lambda: len(fake_master.subscribes) >= 2, within=3.0)
    again = fake_master.subscribes[1]
    assert again["framework_id"] == {"value": "F-0001"}
    assert again["subscribe"]["framework_info"]["id"] == {"value": "F-0001"}
    await eventually(lambda: rec.names().count("subscribed") >= 2)
    assert "disconnected" in rec.names()
    await d.stop(failover=True)


async def test_heartbeats_keep_a_quiet_stream_alive(fake_master: FakeMaster) -> None:
    fake_master.heartbeat = 0.1
    # A silent stream dies after 0.1 s x 10 = 1 s: slack enough for a stalled test process,
    # while the heartbeats below keep it going for 2.5 times that.
    factor = 10.0
    timeout = fake_master.heartbeat * factor
    d = SchedulerDriver(fake_master.address, INFO, Recorder(), heartbeat_timeout_factor=factor)
    await d.start()
    await d.wait_subscribed()
    loop = asyncio.get_running_loop()
    end = loop.time() + 2.5 * timeout
    while loop.time() < end:
        await asyncio.sleep(fake_master.heartbeat)
        fake_master.send({"type": "HEARTBEAT"})
    assert len(fake_master.subscribes) == 1
    assert d.subscribed
    await d.stop(failover=True)


async def test_a_closed_stream_is_resubscribed(driver: Any, fake_master: FakeMaster) -> None:
    d, rec = driver
    await d.wait_subscribed()
    fake_master.end_stream()
    await eventually(lambda: rec.names().count("subscribed") == 2)
    assert rec.names()[:3] == ["subscribed", "disconnected", "subscribed"]
    assert d.stream_id == "stream-2"


async def test_subscribe_503_is_retried(fake_master: FakeMaster) -> None:
    fake_master.on_subscribe = lambda n: (
        PlainTextResponse("Master has not finished recovery", status_code=503) if n < 3 else None
    )
    d = SchedulerDriver(fake_master.address, INFO, Recorder(), reconnect_backoff=(0.01, 0.02))
    await d.start()
    assert await d.wait_subscribed() == "F-0001"
    assert len(fake_master.subscribes) == 3
    await d.stop(failover=True)


async def test_a_refused_subscribe_is_reported_and_ends_the_driver(fake_master: FakeMaster) -> None:
    fake_master.on_subscribe = lambda n: PlainTextResponse(
        "Failed to validate scheduler::Call: Expecting 'framework_info.name'", status_code=400
    )
    rec = Recorder()
    d = SchedulerDriver(fake_master.address, INFO, rec, reconnect_backoff=(0.01, 0.02))
    await d.start()
    async with asyncio.timeout(5):
        await d.join()
    assert rec.seen == [
        (
            "error",
            "master refused SUBSCRIBE with HTTP 400: "
            "Failed to validate scheduler::Call: Expecting 'framework_info.name'",
        )
    ]
    assert len(fake_master.subscribes) == 1


async def test_removed_framework_is_not_resubscribed(driver: Any, fake_master: FakeMaster) -> None:
    d, rec = driver
    await d.wait_subscribed()
    fake_master.send({"type": "ERROR", "error": {"message": "Framework has been removed"}})
    async with asyncio.timeout(5):
        await d.join()
    assert rec.names() == ["subscribed", "error"]
    assert rec.seen[-1] == ("error", "Framework has been removed")
    assert len(fake_master.subscribes) == 1
    assert d.last_error == "Framework has been removed"


async def test_other_errors_are_surfaced_and_the_driver_carries_on(
    driver: Any, fake_master: FakeMaster
) -> None:
    d, rec = driver
    await d.wait_subscribed()
    fake_master.send({"type": "ERROR", "error": {"message": "something odd"}})
    fake_master.end_stream()
    await eventually(lambda: rec.names().count("subscribed") == 2)
    assert ("error", "something odd") in rec.seen


async def test_stop_tears_the_framework_down(driver: Any, fake_master: FakeMaster) -> None:
    d, _ = driver
    await d.wait_subscribed()
    await d.stop()
    assert fake_master.calls_of("TEARDOWN") == [
        {"type": "TEARDOWN", "framework_id": {"value": "F-0001"}}
    ]
    async with asyncio.timeout(1):
        await d.join()
    with pytest.raises(NotSubscribed):
        await d.revive()


async def test_stop_waits_for_the_teardown_answer_even_when_the_stream_ends_first(
    driver: Any, fake_master: FakeMaster, caplog: pytest.LogCaptureFixture
) -> None:
    d, rec = driver

    async def end_stream_first(body: dict[str, Any]) -> None:
        if body["type"] == "TEARDOWN":
            fake_master.end_stream()
            await asyncio.sleep(0.2)

    fake_master.before_reply = end_stream_first
    await d.wait_subscribed()
    await d.stop()
    assert "TEARDOWN failed" not in caplog.text
    assert "disconnected" not in rec.names()
    assert len(fake_master.subscribes) == 1


async def test_stop_with_failover_leaves_the_framework(
    driver: Any, fake_master: FakeMaster
) -> None:
    d, _ = driver
    await d.wait_subscribed()
    await d.stop(failover=True)
    assert fake_master.calls_of("TEARDOWN") == []


async def test_stop_from_inside_a_callback(driver: Any, fake_master: FakeMaster) -> None:
    d, rec = driver

    async def stop_now(driver: SchedulerDriver, status: dict[str, Any]) -> None:
        await driver.stop()

    rec.hooks["update"] = stop_now
    await d.wait_subscribed()
    fake_master.send(_update("t1", b"u" * 16, state="TASK_FINISHED"))
    async with asyncio.timeout(5):
        await d.join()
    assert fake_master.calls_of("TEARDOWN")
    assert fake_master.calls_of("ACKNOWLEDGE") == []  # stopped: nothing left to acknowledge


async def test_explicit_reconciliation_is_retried_until_answered(
    fake_master: FakeMaster,
) -> None:
    d = SchedulerDriver(fake_master.address, INFO, Recorder(), reconcile_backoff=(0.05, 0.1))
    await d.start()
    await d.wait_subscribed()
    d.reconcile_tasks(["t1", ("t2", "A1")])

    def explicit() -> list[dict[str, Any]]:
        return [c for c in fake_master.calls_of("RECONCILE") if c["reconcile"]["tasks"]]

    await eventually(lambda: len(explicit()) >= 3)
    assert explicit()[0]["reconcile"]["tasks"] == [
        {"task_id": {"value": "t1"}},
        {"task_id": {"value": "t2"}, "agent_id": {"value": "A1"}},
    ]
    fake_master.send(_update("t1", state="TASK_LOST"))
    await eventually(lambda: d.reconciling == {"t2"})
    # A RECONCILE for both may still be in flight; the ones after it ask for t2 alone.
    only_t2 = [{"task_id": {"value": "t2"}, "agent_id": {"value": "A1"}}]
    await eventually(lambda: explicit()[-1]["reconcile"]["tasks"] == only_t2)
    asks = [c["reconcile"]["tasks"] for c in explicit()]
    first = asks.index(only_t2)
    assert all(tasks == only_t2 for tasks in asks[first:])  # t1 is not asked about again
    fake_master.send(_update("t2", state="TASK_RUNNING"))
    await eventually(lambda: not d.reconciling)
    # Let a RECONCILE sent just before t2's answer land first (0.2 s: twice the longest retry).
    await asyncio.sleep(0.2)
    count = len(explicit())
    await asyncio.sleep(0.3)
    assert len(explicit()) == count
    await d.stop(failover=True)


async def test_an_unreachable_master_is_retried_and_explained() -> None:
    d = SchedulerDriver("127.0.0.1:9", INFO, Recorder(), reconnect_backoff=(0.01, 0.05))
    await d.start()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await d.wait_subscribed()
    assert d.last_error is not None and "cannot subscribe to http://127.0.0.1:9" in d.last_error
    await d.stop()
