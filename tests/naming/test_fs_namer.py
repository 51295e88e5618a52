"""io.l5d.fs: files of ``host port [* weight]`` lines, watched; last known good on errors."""

from __future__ import annotations

import asyncio
from pathlib import Path as FilePath

import pytest

from roost.naming import NEG, BoundName, Dtab, Leaf, Path, bind, mount
from roost.naming.addr import NEG as ADDR_NEG
from roost.naming.addr import Addr, Address, Bound
from roost.naming.namers import FsNamer, parse_endpoints


def hostports(addr: Addr) -> set[str]:
    assert isinstance(addr, Bound), addr
    return {a.hostport for a in addr.addresses}


def test_lines_weights_comments_and_blank_lines() -> None:
    text = "# web\n192.0.2.10 8080\n\n192.0.2.11 8080 * 2.0  # heavier\n"
    assert parse_endpoints(text) == [
        Address("192.0.2.10", 8080),
        Address("192.0.2.11", 8080, {"weight": 2.0}),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("192.0.2.10", "expected 'host port [* weight]'"),
        ("192.0.2.10 8080 2.0", "expected 'host port [* weight]'"),
        ("192.0.2.10 8080 x 2.0", "expected 'host port [* weight]'"),
        ("192.0.2.10 http", "port must be 1-65535, got 'http'"),
        ("192.0.2.10 70000", "port must be 1-65535, got '70000'"),
        ("192.0.2.10 0", "port must be 1-65535, got '0'"),
        ("192.0.2.10 80 * heavy", "weight must be a number, got 'heavy'"),
        ("192.0.2.10 80 * -1", "weight must be finite and >= 0"),
        ("192.0.2.10 80 * nan", "weight must be finite and >= 0"),
    ],
)
def test_a_malformed_line_is_named_in_the_error(line: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_endpoints(f"192.0.2.1 80\n{line}\n", "disco/web")
    assert str(info.value).startswith("disco/web:2: ") and message in str(info.value)


async def lookup(namer: FsNamer, path: str) -> BoundName:
    tree = await namer.lookup(Path.read(path))
    assert isinstance(tree, Leaf) and isinstance(tree.value, BoundName)
    return tree.value


async def test_a_file_names_its_endpoints_and_a_missing_one_nothing(tmp_path: FilePath) -> None:
    (tmp_path / "web").write_text("127.0.0.1 8080\n127.0.0.1 8081\n")
    namer = FsNamer(tmp_path)
    name = await lookup(namer, "/web/v1")
    assert (name.id.show, name.residual.show) == ("/#/io.l5d.fs/web", "/v1")
    assert hostports(name.addr.value) == {"127.0.0.1:8080", "127.0.0.1:8081"}
    assert await namer.lookup(Path.read("/nope")) is NEG
    assert await namer.lookup(Path.read("/..")) is NEG
    await namer.aclose()


async def test_changes_are_pushed_and_errors_keep_the_last_known_good(tmp_path: FilePath) -> None:
    file = tmp_path / "web"
    file.write_text("127.0.0.1 8080\n")
    namer = FsNamer(tmp_path)
    name = await lookup(namer, "/web")
    seen: list[Addr] = []
    name.addr.observe(seen.append)
    file.write_text("127.0.0.1 8080\n127.0.0.1 9090\n")
    namer.refresh()
    assert hostports(seen[-1]) == {"127.0.0.1:8080", "127.0.0.1:9090"}
    file.write_text("127.0.0.1 not-a-port\n")  # malformed: keep what we had
    namer.refresh()
    file.write_text("")  # emptied mid-rewrite: keep what we had
    namer.refresh()
    assert hostports(name.addr.value) == {"127.0.0.1:8080", "127.0.0.1:9090"}
    assert len(seen) == 2
    file.unlink()  # the name is gone
    namer.refresh()
    assert name.addr.value is ADDR_NEG
    assert await namer.lookup(Path.read("/web")) is NEG
    await namer.aclose()


async def test_the_watcher_picks_up_a_change_by_itself(tmp_path: FilePath) -> None:
    file = tmp_path / "web"
    file.write_text("127.0.0.1 8080\n")
    namer = FsNamer(tmp_path, interval=0.02)
    name = await lookup(namer, "/web")
    changed = asyncio.Event()
    name.addr.observe(lambda addr: changed.set() if hostports(addr) == {"127.0.0.1:7070"} else None)
    tmp = tmp_path / ".web.tmp"
    tmp.write_text("127.0.0.1 7070\n")
    tmp.replace(file)  # atomically
    await asyncio.wait_for(changed.wait(), 5)
    await namer.aclose()


async def test_binding_through_a_dtab_to_the_fs_namer(tmp_path: FilePath) -> None:
    (tmp_path / "web").write_text("127.0.0.1 8080 * 3\n")
    namer = FsNamer(tmp_path)
    tree = await bind(
        Dtab.read("/svc => /#/io.l5d.fs"), Path.read("/svc/web"), namers=[mount("io.l5d.fs", namer)]
    )
    assert isinstance(tree, Leaf)
    addr = tree.value.addr.value
    assert isinstance(addr, Bound) and [a.weight for a in addr.addresses] == [3.0]
    await namer.aclose()


def test_a_bad_interval_is_refused(tmp_path: FilePath) -> None:
    with pytest.raises(ValueError, match="interval must be > 0"):
        FsNamer(tmp_path, interval=0)
