"""Binding: the conformance vectors B1-B4, B6, B7, B13 and B14 of the naming reference
(Finagle's DefaultInterpreterTest, NameTreeTest, NamerTest), configured namers with
negative fall-through, and weighted unions."""

from __future__ import annotations

import pytest

from roost.naming import (
    EMPTY,
    FAIL,
    GLOBAL,
    NEG,
    Address,
    BoundName,
    Dtab,
    Leaf,
    MaxDepthExceeded,
    NamerNotFound,
    NameTree,
    Path,
    Union,
    Weighted,
    bind,
    mount,
    register_namer,
)
from roost.naming.addr import Bound
from roost.naming.namer import Name


def addresses(tree: NameTree[BoundName]) -> set[str]:
    found = tree.eval()
    assert found is not None, f"{tree!r} is negative"
    out = set()
    for name in found:
        addr = name.addr.value
        assert isinstance(addr, Bound)
        out |= {a.hostport for a in addr.addresses}
    return out


async def resolve(dtab: str, path: str, **kw: object) -> set[str]:
    return addresses(await bind(Dtab.read(dtab), Path.read(path), **kw))  # type: ignore[arg-type]


async def test_b1_a_dtab_entry_to_an_inet_address() -> None:
    assert await resolve("/foo=>/$/inet/8080", "/foo") == {"localhost:8080"}


async def test_b2_two_rewrites() -> None:
    assert await resolve("/foo=>/bar;/bar=>/$/inet/8080", "/foo") == {"localhost:8080"}


async def test_b3_the_later_dtab_wins() -> None:
    d1 = Dtab.read("/foo=>/bar")
    d2 = Dtab.read("/foo=>/biz;/biz=>/$/inet/8080;/bar=>/$/inet/9090")
    assert addresses(await bind(d1 + d2, Path.read("/foo"))) == {"localhost:8080"}
    assert addresses(await bind(d2 + d1, Path.read("/foo"))) == {"localhost:9090"}


class Rewriter:
    """Names ``/rewritten/by/test/namer`` for any path (the reference's test namer)."""

    async def lookup(self, path: Path) -> NameTree[Name]:
        return Leaf(Path.read("/rewritten/by/test/namer"))


async def test_b4_a_registered_system_namer_rewrites_and_binding_goes_on() -> None:
    register_namer("test.rewriter", Rewriter)
    dtab = "/foo=>/$/test.rewriter;/rewritten/by/test/namer=>/$/inet/7070"
    assert await resolve(dtab, "/foo") == {"localhost:7070"}


async def test_b6_a_rewrite_loop_hits_the_depth_limit() -> None:
    with pytest.raises(MaxDepthExceeded, match="Max recursion level: 100 reached in Namer lookup"):
        await bind(Dtab.read("/foo/bar=>/bar/foo;/bar/foo=>/foo/bar"), Path.read("/foo/bar"))


async def test_b7_the_depth_limit_is_configurable() -> None:
    with pytest.raises(MaxDepthExceeded) as info:
        await bind(Dtab.read("/s => /s/srv"), Path.read("/s/foo/bar"), max_depth=2)
    assert str(info.value) == "Max recursion level: 2 reached in Namer lookup"


@pytest.mark.parametrize(
    ("path", "hostport", "id", "residual"),
    [
        ("/$/inet/1234", "localhost:1234", "/$/inet/1234", "/"),
        ("/$/inet/127.0.0.1/1234", "127.0.0.1:1234", "/$/inet/127.0.0.1/1234", "/"),
        ("/$/inet/1234/foobar", "localhost:1234", "/$/inet/1234", "/foobar"),
        ("/$/inet/10.0.0.1/80/a/b", "10.0.0.1:80", "/$/inet/10.0.0.1/80", "/a/b"),
        ("/$/fixedinet/10.0.0.1/80", "10.0.0.1:80", "/$/fixedinet/10.0.0.1/80", "/"),
    ],
)
async def test_b13_inet_names_one_address_and_keeps_the_residual(
    path: str, hostport: str, id: str, residual: str
) -> None:
    tree = await GLOBAL.lookup(Path.read(path))
    assert isinstance(tree, Leaf)
    name = tree.value
    assert isinstance(name, BoundName)
    assert (name.id.show, name.residual.show) == (id, residual)
    addr = name.addr.value
    assert isinstance(addr, Bound) and {a.hostport for a in addr.addresses} == {hostport}


async def test_b13_inet_alone_is_an_unknown_namer() -> None:
    with pytest.raises(NamerNotFound, match="'inet'"):
        await GLOBAL.lookup(Path.read("/$/inet"))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/$/fail", FAIL),
        ("/$/fail/foo/bar", FAIL),
        ("/$/nil", EMPTY),
        ("/$/nil/foo/bar", EMPTY),
        ("/foo/bar", NEG),
        ("/$", NEG),
    ],
)
async def test_b14_fail_nil_and_everything_else(path: str, expected: NameTree[Name]) -> None:
    assert await GLOBAL.lookup(Path.read(path)) is expected


async def test_an_unregistered_system_namer_is_an_error_not_an_import() -> None:
    with pytest.raises(NamerNotFound):
        await bind(Dtab.read("/x=>/$/os.system/rm"), Path.read("/x"))


# -- configured namers ------------------------------------------------------------------------


class Table:
    """A namer from a dict: ``/<name>`` -> addresses; ``~`` for the rest."""

    def __init__(self, kind: str, names: dict[str, list[int]]) -> None:
        self.kind = kind
        self.names = names
        self.asked: list[str] = []

    async def lookup(self, path: Path) -> NameTree[Name]:
        self.asked.append(path.show)
        if not path.elems or path.labels[0] not in self.names:
            return NEG
        name = path.labels[0]
        addrs = Bound([Address("127.0.0.1", p) for p in self.names[name]])
        from roost.naming import Var

        return Leaf(BoundName(Path.of("#", self.kind, name), Var(addrs), path.drop(1)))


async def test_configured_namers_are_tried_in_order_and_negative_falls_through() -> None:
    first = Table("first", {"web": [8080]})
    second = Table("second", {"web": [9090], "api": [7070]})
    namers = [mount("io.l5d.a", first), mount("io.l5d.a", second)]
    dtab = Dtab.read("/svc=>/#/io.l5d.a")
    assert addresses(await bind(dtab, Path.read("/svc/web"), namers=namers)) == {"127.0.0.1:8080"}
    assert addresses(await bind(dtab, Path.read("/svc/api"), namers=namers)) == {"127.0.0.1:7070"}
    assert first.asked == ["/web", "/api"] and second.asked == ["/api"]


async def test_a_bound_name_carries_its_id_and_residual() -> None:
    namers = [mount("io.l5d.fs", Table("io.l5d.fs", {"web": [8080]}))]
    tree = await bind(
        Dtab.read("/svc=>/#/io.l5d.fs"), Path.read("/svc/web/v1/users"), namers=namers
    )
    assert isinstance(tree, Leaf)
    assert tree.value.id.show == "/#/io.l5d.fs/web"
    assert tree.value.residual.show == "/v1/users"


async def test_alt_falls_back_past_negative_and_stops_at_fail() -> None:
    assert await resolve("/svc=>/nowhere | /$/inet/1", "/svc") == {"localhost:1"}
    assert (await bind(Dtab.read("/svc=>! | /$/inet/1"), Path.read("/svc"))) is FAIL
    # a later dentry that ends negative falls back to an earlier one
    assert await resolve("/svc=>/$/inet/2;/svc=>/nowhere", "/svc") == {"localhost:2"}


async def test_a_weighted_union_keeps_its_weights_and_drops_negative_branches() -> None:
    tree = await bind(
        Dtab.read("/svc => 9 * /$/inet/1 & 1 * /$/inet/2 & 5 * /nowhere"), Path.read("/svc")
    )
    assert isinstance(tree, Union)
    assert [(w.weight, w.tree.show) for w in tree.trees] == [
        (9.0, "/$/inet/1"),
        (1.0, "/$/inet/2"),
    ]
    assert isinstance(tree.trees[0], Weighted)


async def test_a_union_branch_that_fails_is_ignored_while_another_binds() -> None:
    tree = await bind(Dtab.read("/svc => /$/inet/1 & /$/unknown.namer"), Path.read("/svc"))
    assert addresses(tree) == {"localhost:1"}
    with pytest.raises(NamerNotFound):
        await bind(Dtab.read("/svc => /$/unknown.namer & /$/other.unknown"), Path.read("/svc"))
