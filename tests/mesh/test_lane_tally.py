"""The fast lane under load: plain successes recorded in bulk once per turn of the loop
(roost.mesh.lane.tally) count as the full path counts them, failures in between included;
and a binding being refreshed does not send requests to the full path."""

from __future__ import annotations

import asyncio
import re
from types import SimpleNamespace

import pytest

from roost.mesh.app import Mesh
from roost.mesh.lane.tally import Tally
from roost.rpc.stats import MetricsRegistry
from roost.rpc.stats.receiver import StatsReceiver
from roost.rpc.stats_filter import StatsFilter
from tests.mesh.lanekit import RETRYABLE, Backend, Client, Meshes, req, warm
from tests.mesh.meshkit import metrics

pytestmark = pytest.mark.slow

COUNTED = re.compile(
    r"rt/r/(server/[^/]+/[^/]+|service/svc/web|client/[^/]+)/"
    r"(requests|success|failures|pending|request_latency_ms\.count)"
    r"|rt/r/service/svc/web/retries/(per_request\.count|per_request\.sum|total)"
    r"|rt/r/client/[^/]+/retries/(requeues_per_request\.count|requeues)"
    r"|rt/r/client/[^/]+/failure_accrual/removals"
)


async def burst(m: Mesh, clients: int, rounds: int, fail_every: int) -> list[int]:
    """``clients`` connections each send ``rounds`` requests, all at once per round; every
    ``fail_every``-th client asks for a 500. The statuses, in order."""
    address = m.servers[0].address
    conns = [await Client.open(address) for _ in range(clients)]
    statuses: list[int] = []
    for _ in range(rounds):
        for i, c in enumerate(conns):
            c.writer.write(req("/fail" if i % fail_every == 0 else f"/{i}"))
        answers = await asyncio.gather(*(c.read() for c in conns))
        statuses += [a[0].status for a in answers]
    for c in conns:
        c.close()
    return statuses


@pytest.mark.parametrize("extra", ["", RETRYABLE], ids=["default", "retryable-reads"])
async def test_requests_counted_in_bulk_count_as_on_the_full_path(
    meshes: Meshes, backend: Backend, extra: str
) -> None:
    seen = {}
    for lane in (False, True):
        backend.reset()
        m = await meshes.start(backend.address, lane=lane, extra=extra)
        (await warm(m)).close()
        statuses = await burst(m, clients=40, rounds=5, fail_every=7)
        assert statuses.count(500) == 5 * 6  # clients 0, 7, …, 35 fail every round
        got = {k: v for k, v in (await metrics(m)).items() if COUNTED.fullmatch(k)}
        seen[lane] = (statuses, sorted(backend.calls.items()), got)
    counted = seen[True][2]
    assert counted["rt/r/service/svc/web/requests"] == 201  # the warm-up and 40 x 5
    assert counted["rt/r/service/svc/web/request_latency_ms.count"] == 201
    assert counted["rt/r/service/svc/web/failures"] == 30
    assert {k: v for k, v in counted.items() if seen[False][2].get(k) != v} == {}
    assert seen[True] == seen[False]


async def test_the_lane_goes_on_routing_while_a_binding_is_refreshed(
    meshes: Meshes, backend: Backend
) -> None:
    """A name's binding is refreshed every second in the background; requests meanwhile
    go on through the lane (its own backend connection), none through the full path's."""
    m = await meshes.start_fs(backend)
    c = await warm(m)  # the full path's request: the first backend connection
    assert backend.via == [1]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 2.5  # past two refreshes of the binding
    while loop.time() < deadline:
        await c.send(req("/again"))
        assert (await c.read())[0].status == 200
        await asyncio.sleep(0.02)
    c.close()
    assert len(backend.via) > 50
    assert set(backend.via[1:]) == {2}  # all on the lane's connection


class Broken:
    def leave_all(self, batch: object) -> None:
        raise RuntimeError("broken")


def stand_in(server: object) -> SimpleNamespace:
    """A Target as the tally reads it (our own interface, in a unit test)."""
    name = SimpleNamespace(stats=None, retry=None)
    client = SimpleNamespace(stats=None, requeue=None, nack=None)
    return SimpleNamespace(
        server=server, name=name, client=client, pair=None, done=[], factories=[]
    )


async def test_one_targets_trouble_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tally = Tally()
    fine = StatsFilter[object, object](StatsReceiver(MetricsRegistry(), "fine"))
    broken, good = stand_in(Broken()), stand_in(fine)
    fine.begin()
    for target in (broken, good, broken):
        tally.success(target, object(), 1.5)  # type: ignore[arg-type]
    await asyncio.sleep(0)  # the end of the turn
    assert (fine.pending, fine._requests.value) == (0, 1)
    assert broken.done == good.done == []
    assert "recording the fast lane's successes failed" in caplog.text


async def test_a_routers_servers_share_one_tally(meshes: Meshes, backend: Backend) -> None:
    servers = "  servers: [{port: 0}, {port: 0}]\n"
    m = await meshes.start(backend.address, extra=servers)
    for server in m.servers:
        c = await Client.open(server.address)
        for _ in range(2):
            await c.send(req("/"))
            assert (await c.read())[0].status == 200
        c.close()
    lanes = m._lanes
    assert len(lanes) == 2
    assert lanes[0].tally is lanes[1].tally
