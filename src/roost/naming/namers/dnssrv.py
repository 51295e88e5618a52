"""``io.l5d.dnssrv``: names from DNS SRV records (Linkerd's ``DnsSrvNamer``).

``/#/io.l5d.dnssrv/_http._tcp.web.example.com/rest`` asks the resolvers for the SRV records
of ``_http._tcp.web.example.com``: each answer is an endpoint (the target's A record from the
additional section when the server sent one, else the target name) with the record's weight.
No such name (``NXDOMAIN``) or no records is ``~``; any other answer code, or no answer from
any resolver, is a failure. Names are refreshed every ``interval`` seconds (Linkerd's
``refreshIntervalSeconds``, 5); a failed refresh keeps the last known addresses.

Resolvers (``dnsHosts``) are ``host`` or ``host:port``; by default the nameservers of
``/etc/resolv.conf``. Queries go over UDP with a timeout, one resolver after the other.
"""

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path as FilePath

from dnslib import QTYPE, RCODE, DNSRecord

from roost.core.aio import cancel_quietly, every
from roost.naming.addr import NEG as ADDR_NEG
from roost.naming.addr import Addr, Address, Bound
from roost.naming.name import BoundName
from roost.naming.namer import Name
from roost.naming.path import Path
from roost.naming.tree import NEG, Leaf, NameTree
from roost.naming.var import Var

log = logging.getLogger(__name__)


class DnsError(Exception):
    """No usable answer: every resolver timed out, or answered with an error code."""


def system_resolvers(resolv_conf: str = "/etc/resolv.conf") -> list[str]:
    try:
        lines = FilePath(resolv_conf).read_text().splitlines()
    except OSError:
        return ["127.0.0.1"]
    found = [ln.split()[1] for ln in lines if ln.startswith("nameserver") and len(ln.split()) > 1]
    return found or ["127.0.0.1"]


def _hostport(resolver: str) -> tuple[str, int]:
    host, sep, port = resolver.rpartition(":")
    if sep and port.isdigit() and host and not host.endswith(":"):
        return host.strip("[]"), int(port)
    return resolver.strip("[]"), 53


class _Reply(asyncio.DatagramProtocol):
    def __init__(self, query_id: int) -> None:
        self.query_id = query_id
        self.answer: asyncio.Future[DNSRecord] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: object) -> None:
        try:
            record = DNSRecord.parse(data)
        except Exception:  # not DNS: ignore it, the timeout decides
            return
        if record.header.id == self.query_id and not self.answer.done():
            self.answer.set_result(record)


async def query_srv(name: str, resolvers: list[str], timeout: float = 2.0) -> DNSRecord:
    """The SRV answer for ``name`` from the first resolver that gives one."""
    question = DNSRecord.question(name, "SRV")
    question.header.id = random.randrange(1, 65536)
    packet = question.pack()
    errors = []
    loop = asyncio.get_running_loop()
    for resolver in resolvers:
        host, port = _hostport(resolver)
        transport = None
        try:
            transport, proto = await loop.create_datagram_endpoint(
                lambda: _Reply(question.header.id), remote_addr=(host, port)
            )
            transport.sendto(packet)
            async with asyncio.timeout(timeout):
                return await proto.answer
        except (OSError, TimeoutError) as exc:
            errors.append(f"{resolver}: {type(exc).__name__} {exc}".strip())
        finally:
            if transport is not None:
                transport.close()
    raise DnsError(f"no DNS answer for {name}: {'; '.join(errors)}")


def addresses_of(reply: DNSRecord, name: str) -> list[Address] | None:
    """The endpoints of an SRV answer; ``None`` for no such name or no records."""
    code = reply.header.rcode
    if code == RCODE.NXDOMAIN:
        return None
    if code != RCODE.NOERROR:
        raise DnsError(f"unexpected RCODE {RCODE.get(code)} for {name}")
    hosts = {str(rr.rname): str(rr.rdata) for rr in reply.ar if rr.rtype == QTYPE.A}
    out = []
    for rr in reply.rr:
        if rr.rtype != QTYPE.SRV:
            continue
        target = str(rr.rdata.target)
        host = hosts.get(target, target.rstrip("."))
        out.append(Address(host, int(rr.rdata.port), {"weight": float(rr.rdata.weight)}))
    return out or None


class DnsSrvNamer:
    """Serves SRV names; mount it at ``/#/io.l5d.dnssrv``."""

    def __init__(
        self,
        resolvers: list[str] | None = None,
        *,
        prefix: str = "io.l5d.dnssrv",
        interval: float = 5.0,
        timeout: float = 2.0,
        domain: str | None = None,
    ) -> None:
        """``domain``: appended to a name that does not end with a dot (Linkerd's ``domain``:
        ``/#/io.l5d.dnssrv/_http._tcp.web`` asks for ``_http._tcp.web.<domain>.``)."""
        if not interval > 0 or not timeout > 0:
            raise ValueError(f"interval and timeout must be > 0, got {interval!r}, {timeout!r}")
        self.domain = domain.strip(".") if domain else None
        self.resolvers = resolvers or system_resolvers()
        self.prefix = Path.of("#", *prefix.split("/"))
        self.interval = interval
        self.timeout = timeout
        self._vars: dict[str, Var[Addr]] = {}
        self._task: asyncio.Task[None] | None = None
        self.successes = 0
        self.failures = 0
        self.zero_results = 0

    async def lookup(self, path: Path) -> NameTree[Name]:
        if not path.elems:
            return NEG
        name = path.labels[0]
        var = self._vars.get(name)
        if var is None:
            var = Var(await self._resolve(name, None))  # the first answer decides, or raises
            self._vars[name] = var
            self._ensure_refreshing()
        if var.value is ADDR_NEG:
            return NEG
        return Leaf(BoundName(self.prefix + path.take(1), var, path.drop(1)))

    async def _resolve(self, name: str, last: Addr | None) -> Addr:
        if self.domain and not name.endswith("."):
            name = f"{name}.{self.domain}."
        try:
            found = addresses_of(await query_srv(name, self.resolvers, self.timeout), name)
        except DnsError as exc:
            self.failures += 1
            if last is None:
                raise
            log.warning("io.l5d.dnssrv: %s (keeping the last addresses)", exc)
            return last
        if found is None:
            self.zero_results += 1
            return ADDR_NEG
        self.successes += 1
        return Bound(found)

    async def refresh(self) -> None:
        """Ask again for every name looked up so far (what the refresher does)."""
        for name, var in list(self._vars.items()):
            var.set(await self._resolve(name, var.value))

    def _ensure_refreshing(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._refresh_loop())

    async def _refresh_loop(self) -> None:
        await every(self.interval, self.refresh, "io.l5d.dnssrv: refresh", log)

    async def aclose(self) -> None:
        task, self._task = self._task, None
        await cancel_quietly(task)
