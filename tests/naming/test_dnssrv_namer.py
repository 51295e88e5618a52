"""io.l5d.dnssrv against a real DNS server on loopback (dnslib's server, answering from a
table we change), including an outage that must keep the last known endpoints."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from dnslib import QTYPE, RCODE, RR, SRV, A, DNSRecord
from dnslib.server import BaseResolver, DNSServer

from roost.naming import NEG, BoundName, Dtab, Leaf, Path, bind, mount
from roost.naming.addr import NEG as ADDR_NEG
from roost.naming.addr import Addr, Bound
from roost.naming.namers import DnsSrvNamer
from roost.naming.namers.dnssrv import DnsError, system_resolvers

NAME = "_http._tcp.web.test."


class Table(BaseResolver):  # type: ignore[misc]
    """SRV answers from ``records`` (name -> [(target, port, weight)]); ``mode`` may be
    ``"servfail"`` or ``"silent"`` (no answer at all)."""

    def __init__(self) -> None:
        self.records: dict[str, list[tuple[str, int, int]]] = {}
        self.a: dict[str, str] = {}
        self.mode = "ok"

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord | None:
        reply = request.reply()
        name = str(request.q.qname)
        if self.mode == "silent":
            return None
        if self.mode == "servfail":
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if name not in self.records:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for target, port, weight in self.records[name]:
            reply.add_answer(RR(name, QTYPE.SRV, rdata=SRV(0, weight, port, target), ttl=5))
            if target in self.a:
                reply.add_ar(RR(target, QTYPE.A, rdata=A(self.a[target]), ttl=5))
        return reply


@pytest.fixture
def dns() -> Iterator[tuple[Table, str]]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    table = Table()
    server = DNSServer(table, port=port, address="127.0.0.1")
    server.start_thread()
    try:
        yield table, f"127.0.0.1:{port}"
    finally:
        server.stop()


def hostports(addr: Addr) -> set[str]:
    assert isinstance(addr, Bound), addr
    return {a.hostport for a in addr.addresses}


async def lookup(namer: DnsSrvNamer, name: str = NAME) -> BoundName:
    tree = await namer.lookup(Path.of(name, "rest"))
    assert isinstance(tree, Leaf) and isinstance(tree.value, BoundName)
    return tree.value


async def test_srv_records_become_endpoints_with_weights(dns: tuple[Table, str]) -> None:
    table, resolver = dns
    table.records[NAME] = [("a.web.test.", 8080, 10), ("b.web.test.", 8081, 30)]
    table.a["a.web.test."] = "127.0.0.5"  # glue for one target: its address is used
    namer = DnsSrvNamer([resolver], interval=60)
    name = await lookup(namer)
    assert name.id == Path.of("#", "io.l5d.dnssrv", NAME) and name.residual.show == "/rest"
    addr = name.addr.value
    assert hostports(addr) == {"127.0.0.5:8080", "b.web.test:8081"}
    assert isinstance(addr, Bound)
    assert sorted(a.weight for a in addr.addresses) == [10.0, 30.0]
    await namer.aclose()


async def test_no_such_name_or_no_records_is_negative(dns: tuple[Table, str]) -> None:
    table, resolver = dns
    table.records["_http._tcp.empty.test."] = []
    namer = DnsSrvNamer([resolver], interval=60)
    assert await namer.lookup(Path.of("_http._tcp.nope.test.")) is NEG
    assert await namer.lookup(Path.of("_http._tcp.empty.test.")) is NEG
    assert namer.zero_results == 2
    await namer.aclose()


async def test_changes_arrive_and_an_outage_keeps_the_last_known_good(
    dns: tuple[Table, str],
) -> None:
    table, resolver = dns
    table.records[NAME] = [("127.0.0.1", 8080, 1)]
    namer = DnsSrvNamer([resolver], interval=60, timeout=0.3)
    name = await lookup(namer)
    seen: list[Addr] = []
    name.addr.observe(seen.append)
    table.records[NAME] = [("127.0.0.1", 8080, 1), ("127.0.0.1", 9090, 1)]
    await namer.refresh()
    assert hostports(seen[-1]) == {"127.0.0.1:8080", "127.0.0.1:9090"}
    for mode in ("servfail", "silent"):  # the DNS server breaks: traffic keeps its endpoints
        table.mode = mode
        await namer.refresh()
        assert hostports(name.addr.value) == {"127.0.0.1:8080", "127.0.0.1:9090"}
    assert namer.failures == 2 and len(seen) == 2
    table.mode = "ok"
    del table.records[NAME]  # an authoritative "no such name" takes the name away
    await namer.refresh()
    assert name.addr.value is ADDR_NEG
    await namer.aclose()


async def test_a_first_lookup_that_fails_is_an_error(dns: tuple[Table, str]) -> None:
    table, resolver = dns
    table.mode = "servfail"
    namer = DnsSrvNamer([resolver], interval=60)
    with pytest.raises(DnsError, match="unexpected RCODE SERVFAIL"):
        await namer.lookup(Path.of(NAME))
    await namer.aclose()


async def test_bound_through_a_dtab(dns: tuple[Table, str]) -> None:
    table, resolver = dns
    table.records[NAME] = [("127.0.0.1", 8080, 1)]
    namer = DnsSrvNamer([resolver], interval=60)
    tree = await bind(
        Dtab.read("/svc => /#/io.l5d.dnssrv"),
        Path.of("svc", NAME),
        namers=[mount("io.l5d.dnssrv", namer)],
    )
    assert isinstance(tree, Leaf) and hostports(tree.value.addr.value) == {"127.0.0.1:8080"}
    await namer.aclose()


def test_system_resolvers_come_from_resolv_conf(tmp_path: Any) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("# c\nsearch x\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n")
    assert system_resolvers(str(conf)) == ["10.0.0.2", "10.0.0.3"]
    assert system_resolvers(str(tmp_path / "missing")) == ["127.0.0.1"]


async def test_a_domain_completes_names_without_a_final_dot(dns: tuple[Table, str]) -> None:
    table, resolver = dns
    table.records[NAME] = [("a.web.test.", 8080, 1)]
    namer = DnsSrvNamer([resolver], interval=60, domain="test.")
    short = await lookup(namer, "_http._tcp.web")  # asks for _http._tcp.web.test.
    assert hostports(short.addr.value) == {"a.web.test:8080"}
    assert short.id == Path.of("#", "io.l5d.dnssrv", "_http._tcp.web")  # the name as asked
    full = await lookup(namer, NAME)  # absolute: left alone
    assert hostports(full.addr.value) == {"a.web.test:8080"}
    await namer.aclose()
