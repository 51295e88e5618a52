"""io.l5d.serversets against a real ZooKeeper (roost.testing.zookeeper, one server for the
module) and real kazoo clients announcing members: binding, ``:endpoint``, residuals, ``~``
falling through to the next alternative, changes pushed to the Var, malformed members, an
outage (the server killed and restarted) keeping the last known good addresses, and a mesh
routing to a backend found in ZooKeeper."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path as FilePath
from typing import Any

import pytest
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry

from roost.mesh.app import Mesh
from roost.mesh.config import load_config
from roost.naming import NEG, BoundName, Dtab, Leaf, Path, Var, bind, mount
from roost.naming.addr import NEG as ADDR_NEG
from roost.naming.addr import Addr, Bound
from roost.naming.namers import ServersetsError, ServersetsNamer, parse_member
from roost.rpc.http import Headers, Request, Response, request, serve
from roost.rpc.service import FnService
from roost.testing.processes import free_port
from roost.testing.zookeeper import ZooKeeperServer

pytestmark = pytest.mark.slow


# -- ZooKeeper, an announcer, a namer ---------------------------------------------------------


def announcer(hosts: str) -> KazooClient:
    """A plain kazoo client, as a server announcing itself would use (reconnecting fast)."""
    client = KazooClient(hosts, connection_retry=KazooRetry(max_tries=-1, max_delay=0.2))
    client.start(10)
    return client


@pytest.fixture(scope="module")
def zookeeper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZooKeeperServer]:
    with ZooKeeperServer(tmp_path_factory.mktemp("zookeeper")) as server:
        yield server


@pytest.fixture(scope="module")
def zk(zookeeper: ZooKeeperServer) -> Iterator[KazooClient]:
    client = announcer(zookeeper.hosts)
    yield client
    client.stop()
    client.close()


@pytest.fixture
def base(zk: KazooClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A znode of this test's own, removed afterwards."""
    path = f"/t/{request.node.name}"
    zk.ensure_path(path)
    yield path
    zk.delete(path, recursive=True)


@pytest.fixture
async def namer(zookeeper: ZooKeeperServer) -> AsyncIterator[ServersetsNamer]:
    n = ServersetsNamer(zookeeper.hosts, connect_timeout=5.0, retry_max_delay=0.2)
    yield n
    await n.aclose()


def endpoint(host: str, port: int) -> dict[str, Any]:
    return {"host": host, "port": port}


def member_json(
    port: int, *, status: str | None = "ALIVE", http: int | None = None, shard: int | None = None
) -> bytes:
    doc: dict[str, Any] = {"serviceEndpoint": endpoint("127.0.0.1", port)}
    if http is not None:
        doc["additionalEndpoints"] = {"http": endpoint("127.0.0.1", http)}
    if status is not None:
        doc["status"] = status
    if shard is not None:
        doc["shard"] = shard
    return json.dumps(doc).encode()


def announce(zk: KazooClient, serverset: str, data: bytes, *, ephemeral: bool = False) -> str:
    """A ``member_…`` znode (sequential, as Finagle's announcer makes them); its path."""
    path: str = zk.create(
        f"{serverset}/member_", data, ephemeral=ephemeral, sequence=True, makepath=True
    )
    return path


def hostports(addr: Addr) -> set[str]:
    assert isinstance(addr, Bound), addr
    return {a.hostport for a in addr.addresses}


async def lookup(namer: ServersetsNamer, path: str) -> BoundName:
    tree = await namer.lookup(Path.read(path))
    assert isinstance(tree, Leaf) and isinstance(tree.value, BoundName), tree
    return tree.value


async def pushed(var: Var[Addr], want: Callable[[Addr], bool], timeout: float = 5.0) -> Addr:
    """Wait until the Var holds a value ``want`` accepts (pushed, not polled)."""
    hit = asyncio.Event()
    stop = var.observe(lambda addr: hit.set() if want(addr) else None)
    try:
        async with asyncio.timeout(timeout):
            await hit.wait()
    finally:
        stop()
    return var.value


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


# -- member JSON --------------------------------------------------------------------------


def test_member_json_reads_like_finagles() -> None:
    member = parse_member(member_json(8080, http=8081, shard=3))
    assert member.status == "ALIVE" and member.shard == 3
    assert member.endpoints == {None: ("127.0.0.1", 8080), "http": ("127.0.0.1", 8081)}
    assert parse_member(member_json(8080, status=None)).status == "UNKNOWN"  # not served


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b'{"serviceEndpoint": {"host": "h"}}', "serviceEndpoint.port: expected 1-65535, got None"),
        (b'{"serviceEndpoint": {"host": "h", "port": "80"}}', "serviceEndpoint.port"),
        (b'{"serviceEndpoint": {"port": 80}}', "serviceEndpoint.host: expected a host name"),
        (b'{"additionalEndpoints": [1]}', "additionalEndpoints: expected an object"),
        (
            b'{"additionalEndpoints": {"http": 80}}',
            "additionalEndpoints.http: expected {host, port}",
        ),
    ],
)
def test_a_malformed_member_is_named_in_the_error(data: bytes, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_member(data, "/web/member_0000000001")
    assert str(info.value).startswith("/web/member_0000000001: ") and message in str(info.value)


# -- binding ------------------------------------------------------------------------------


async def test_a_serverset_binds_to_its_alive_members(
    zk: KazooClient, base: str, namer: ServersetsNamer
) -> None:
    web = f"{base}/web"
    announce(zk, web, member_json(8080, shard=0))
    announce(zk, web, member_json(8081, shard=1))
    announce(zk, web, member_json(8082, status="DEAD"))
    announce(zk, web, member_json(8083, status=None))  # no status: UNKNOWN, as in Finagle
    zk.create(f"{web}/config", b"not a member")
    name = await lookup(namer, web)
    assert name.id == Path.read(f"/#/io.l5d.serversets{web}") and not name.residual.elems
    addr = name.addr.value
    assert hostports(addr) == {"127.0.0.1:8080", "127.0.0.1:8081"}
    assert isinstance(addr, Bound) and {a.meta["shard"] for a in addr.addresses} == {0, 1}


async def test_an_endpoint_name_selects_the_additional_endpoints(
    zk: KazooClient, base: str, namer: ServersetsNamer
) -> None:
    web = f"{base}/web"
    announce(zk, web, member_json(8080, http=9080))
    announce(zk, web, member_json(8081, http=9081))
    announce(zk, web, member_json(8082))  # no "http" endpoint: left out of web:http
    name = await lookup(namer, f"{web}:http")
    assert name.id == Path.read(f"/#/io.l5d.serversets{web}:http")
    assert hostports(name.addr.value) == {"127.0.0.1:9080", "127.0.0.1:9081"}
    plain = await lookup(namer, web)
    assert hostports(plain.addr.value) == {"127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082"}
    assert await namer.lookup(Path.read(f"{web}:grpc")) is NEG


async def test_the_longest_serverset_prefix_binds_and_the_rest_is_residual(
    zk: KazooClient, base: str, namer: ServersetsNamer
) -> None:
    announce(zk, f"{base}/web", member_json(8080, http=9080))
    announce(zk, f"{base}/web/v2", member_json(8090))
    name = await lookup(namer, f"{base}/web/extra/more")
    assert name.id == Path.read(f"/#/io.l5d.serversets{base}/web")
    assert name.residual == Path.read("/extra/more")
    assert hostports(name.addr.value) == {"127.0.0.1:8080"}
    deeper = await lookup(namer, f"{base}/web/v2/x")
    assert deeper.id == Path.read(f"/#/io.l5d.serversets{base}/web/v2")
    assert hostports(deeper.addr.value) == {"127.0.0.1:8090"}
    http = await lookup(namer, f"{base}/web:http/rest")
    assert (http.id.show, http.residual.show) == (f"/#/io.l5d.serversets{base}/web:http", "/rest")


async def test_a_missing_or_empty_serverset_is_neg_and_the_next_alternative_binds(
    zk: KazooClient, base: str, namer: ServersetsNamer
) -> None:
    zk.ensure_path(f"{base}/empty")
    announce(zk, f"{base}/web", member_json(8080))
    assert await namer.lookup(Path.read(f"{base}/nope")) is NEG
    assert await namer.lookup(Path.read(f"{base}/empty")) is NEG  # zk2: no members is Neg
    assert await namer.lookup(Path.read(f"{base}/nope/web")) is NEG  # parents are not sets
    namers = [mount("io.l5d.serversets", namer)]
    dtab = Dtab.read(f"/svc => /#/io.l5d.serversets{base}/nope | /$/inet/127.0.0.1/9")
    tree = await bind(dtab, Path.read("/svc/web"), namers=namers)
    assert isinstance(tree, Leaf) and tree.value.id == Path.read("/$/inet/127.0.0.1/9")
    found = await bind(
        Dtab.read(f"/svc => /#/io.l5d.serversets{base}"), Path.read("/svc/web"), namers=namers
    )
    assert isinstance(found, Leaf) and hostports(found.value.addr.value) == {"127.0.0.1:8080"}


# -- watching -----------------------------------------------------------------------------


async def test_members_joining_and_leaving_are_pushed_to_the_var(
    zookeeper: ZooKeeperServer, zk: KazooClient, base: str, namer: ServersetsNamer
) -> None:
    web = f"{base}/web"
    first = announce(zk, web, member_json(8080))
    name = await lookup(namer, web)
    other = announcer(zookeeper.hosts)  # a second server, announcing itself ephemerally
    announce(other, web, member_json(8081), ephemeral=True)
    both = {"127.0.0.1:8080", "127.0.0.1:8081"}
    await pushed(name.addr, lambda a: isinstance(a, Bound) and hostports(a) == both)
    other.stop()  # its session ends: ZooKeeper removes its member
    other.close()
    await pushed(name.addr, lambda a: isinstance(a, Bound) and hostports(a) == {"127.0.0.1:8080"})
    zk.set(first, member_json(8080, status="STOPPING"))  # a data change is watched too
    await pushed(name.addr, lambda a: a == Bound([]))
    zk.set(first, member_json(8080))
    await pushed(name.addr, lambda a: isinstance(a, Bound) and hostports(a) == {"127.0.0.1:8080"})
    zk.delete(first)  # no members at all: an empty set, not Neg
    await pushed(name.addr, lambda a: a == Bound([]))
    announce(zk, web, member_json(8085))
    await pushed(name.addr, lambda a: isinstance(a, Bound) and hostports(a) == {"127.0.0.1:8085"})
    zk.delete(web, recursive=True)  # the serverset itself is gone
    await pushed(name.addr, lambda a: a is ADDR_NEG)
    assert await namer.lookup(Path.read(web)) is NEG


async def test_a_malformed_member_is_skipped_with_a_warning_naming_it(
    zk: KazooClient, base: str, namer: ServersetsNamer, caplog: pytest.LogCaptureFixture
) -> None:
    web = f"{base}/web"
    good = announce(zk, web, member_json(8080))
    bad = announce(zk, web, b"{not json")
    name = await lookup(namer, web)
    assert hostports(name.addr.value) == {"127.0.0.1:8080"}
    warnings = [r for r in caplog.records if "malformed member" in r.getMessage()]
    assert [r.fields["member"] for r in warnings] == [bad]  # type: ignore[attr-defined]
    zk.set(good, b'{"serviceEndpoint": {"host": "127.0.0.1"}}')  # it breaks: keep what it was
    announce(zk, web, member_json(8081))
    await pushed(name.addr, lambda a: hostports(a) == {"127.0.0.1:8080", "127.0.0.1:8081"})
    messages = [r.getMessage() for r in caplog.records if "malformed member" in r.getMessage()]
    assert messages == [
        "io.l5d.serversets: malformed member skipped",
        "io.l5d.serversets: malformed member kept as it was",
    ]  # one warning each, though the serverset was read several times


async def test_an_outage_keeps_the_last_addresses_and_changes_flow_after_a_restart(
    tmp_path: FilePath, caplog: pytest.LogCaptureFixture
) -> None:
    """Its own server, as it is killed (the module's one serves the other tests)."""
    caplog.set_level(logging.INFO, logger="roost.naming.namers.serversets")
    server = ZooKeeperServer(tmp_path / "zk").start()
    owner = announcer(server.hosts)
    namer = ServersetsNamer(server.hosts, connect_timeout=1.0, retry_max_delay=0.2)
    try:
        announce(owner, "/web", member_json(8080))
        announce(owner, "/web", member_json(8081))
        name = await lookup(namer, "/web/rest")  # /web/rest: not a serverset, remembered
        assert name.id == Path.read("/#/io.l5d.serversets/web")
        seen: list[Addr] = []
        name.addr.observe(seen.append)
        server.kill()
        await until(lambda: not namer.connected)
        again = await lookup(namer, "/web/rest")  # answered from what was known
        assert again.addr is name.addr and again.residual == Path.read("/rest")
        with pytest.raises(ServersetsError, match="no ZooKeeper reachable"):
            await namer.lookup(Path.read("/api"))  # a new name cannot be asked
        assert hostports(name.addr.value) == {"127.0.0.1:8080", "127.0.0.1:8081"}
        assert len(seen) == 1  # nothing was pushed: no empty set, no Neg
        down = [r for r in caplog.records if "ZooKeeper unreachable" in r.getMessage()]
        assert len(down) == 1 and down[0].levelno == logging.WARNING

        server.start()  # same port, same data
        await until(lambda: namer.connected)
        announce(owner, "/web", member_json(8082))  # the owner has reconnected too
        three = {"127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082"}
        await pushed(name.addr, lambda a: isinstance(a, Bound) and hostports(a) == three, 10.0)
        await until(lambda: any("reachable again" in r.getMessage() for r in caplog.records))
    finally:
        await namer.aclose()
        owner.stop()
        owner.close()
        server.stop()


async def test_no_zookeeper_is_a_failure_not_neg() -> None:
    namer = ServersetsNamer(f"127.0.0.1:{free_port()}", connect_timeout=0.3, retry_max_delay=0.1)
    try:
        with pytest.raises(ServersetsError, match=r"no ZooKeeper reachable at 127\.0\.0\.1:"):
            await namer.lookup(Path.read("/web"))
    finally:
        await namer.aclose()
    with pytest.raises(ValueError, match="at least one ZooKeeper address"):
        ServersetsNamer([])


# -- through the mesh ---------------------------------------------------------------------


async def test_the_mesh_routes_to_backends_registered_in_zookeeper(
    zookeeper: ZooKeeperServer, zk: KazooClient, base: str, tmp_path: FilePath
) -> None:
    seen: list[Request] = []

    def backend(label: str) -> FnService[Request, Response]:
        async def handle(req: Request) -> Response:
            seen.append(req)
            return Response(200, Headers([("x-backend", label)]), label.encode())

        return FnService(handle)

    servers = [await serve("127.0.0.1:0", backend(label), label=label) for label in "ab"]
    ports = [int(s.address.rsplit(":", 1)[1]) for s in servers]
    first = announce(zk, f"{base}/web", member_json(ports[0]))
    host, port = zookeeper.hosts.split(":")
    config = load_config(
        f"""
admin: {{port: 0}}
namers:
- kind: io.l5d.serversets
  zkAddrs: [{{host: {host}, port: {port}}}]
routers:
- protocol: http
  dtab: /svc => /#/io.l5d.serversets{base}
  servers: [{{port: 0}}]
"""
    )
    mesh = Mesh(config, base_dir=tmp_path)
    await mesh.start()

    async def send() -> Response:
        req = Request("GET", "/hello", Headers([("Host", "web")]))
        return await request(mesh.servers[0].address, req)

    try:
        rep = await send()
        assert (rep.status, rep.body) == (200, b"a")
        assert seen[-1].headers["l5d-dst-client"] == f"/#/io.l5d.serversets{base}/web"
        announce(zk, f"{base}/web", member_json(ports[1]))  # b joins, a leaves
        zk.delete(first)
        async with asyncio.timeout(10):
            while (await send()).body != b"b":
                await asyncio.sleep(0.05)
        assert [(await send()).body for _ in range(5)] == [b"b"] * 5
    finally:
        await mesh.stop()
        for s in servers:
            await s.close(grace=0.5)
