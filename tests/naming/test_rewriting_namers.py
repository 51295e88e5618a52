"""Linkerd's utility namers under /$/io.buoyant.* (HttpTest, HostPortTest, RinetTest)."""

from __future__ import annotations

import pytest

from roost.naming import NEG, BoundName, Dtab, Leaf, Path, bind
from roost.naming.addr import Bound
from roost.naming.namer import GLOBAL


@pytest.mark.parametrize(
    ("path", "rewritten"),
    [
        ("/$/io.buoyant.http.anyMethod/GET/svc/users", "/svc/users"),
        ("/$/io.buoyant.http.anyMethodPfx/pfx/POST/svc", "/pfx/svc"),
        ("/$/io.buoyant.http.anyHost/foo.buoyant.io/resource/name", "/resource/name"),
        ("/$/io.buoyant.http.anyHostPfx/pfx/foo.buoyant.io:8080/r", "/pfx/r"),
        ("/$/io.buoyant.http.subdomainOf/buoyant.io/foo.buoyant.io/r/n", "/foo/r/n"),
        ("/$/io.buoyant.http.subdomainOf/buoyant.io/foo.buoyant.io:80/r", "/foo/r"),
        ("/$/io.buoyant.http.subdomainOfPfx/buoyant.io/pfx/foo.buoyant.io/r", "/pfx/foo/r"),
        ("/$/io.buoyant.http.domainToPath/foo.buoyant.io/r/n", "/io/buoyant/foo/r/n"),
        ("/$/io.buoyant.http.domainToPathPfx/pfx/foo.buoyant.io/r", "/pfx/io/buoyant/foo/r"),
        ("/$/io.buoyant.hostportPfx/pfx/web:8080/etc", "/pfx/web/8080/etc"),
        ("/$/io.buoyant.porthostPfx/pfx/web:http/etc", "/pfx/http/web/etc"),
    ],
)
async def test_a_path_of_the_right_shape_is_rewritten(path: str, rewritten: str) -> None:
    tree = await GLOBAL.lookup(Path.read(path))
    assert tree == Leaf(Path.read(rewritten))


@pytest.mark.parametrize(
    "path",
    [
        "/$/io.buoyant.http.anyMethod/get/svc",  # methods are upper case
        "/$/io.buoyant.http.anyMethod",
        "/$/io.buoyant.http.anyHost/a\\x2fb/r",  # a '/' is no host character
        "/$/io.buoyant.http.subdomainOf/buoyant.io/buoyant.io/r",  # no subdomain left
        "/$/io.buoyant.http.subdomainOf/buoyant.io/foo.example.com/r",
        "/$/io.buoyant.hostportPfx/pfx/web/etc",  # no port
        "/$/io.buoyant.hostportPfx/pfx/a:b:c/etc",
        "/$/io.buoyant.hostportPfx/pfx/web:Http/etc",  # a port is a lower-case DNS label
    ],
)
async def test_a_path_of_another_shape_is_negative(path: str) -> None:
    assert await GLOBAL.lookup(Path.read(path)) is NEG


async def test_rinet_takes_the_port_first() -> None:
    tree = await GLOBAL.lookup(Path.read("/$/io.buoyant.rinet/8080/web.local/rest"))
    assert isinstance(tree, Leaf) and isinstance(tree.value, BoundName)
    assert tree.value.id.show == "/$/inet/web.local/8080"
    assert tree.value.residual.show == "/rest"
    addr = tree.value.addr.value
    assert isinstance(addr, Bound) and [a.hostport for a in addr.addresses] == ["web.local:8080"]


async def test_the_host_header_example_binds_through_hostport_and_rinet() -> None:
    # Linkerd's docs: route /svc/<host:port> straight to that address
    dtab = Dtab.read("/svc => /$/io.buoyant.porthostPfx/pfx; /pfx => /$/io.buoyant.rinet")
    tree = await bind(dtab, Path.read("/svc/backend:9090"))
    assert isinstance(tree, Leaf)
    assert tree.value.id.show == "/$/inet/backend/9090"
