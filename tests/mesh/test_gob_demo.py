"""The gob demo (examples/gob) driven end to end: web -> word and gen through roost mesh,
the dtab in roost namerd. A 10 % canary of gen-v2 by weights, a full cut-over through
namerd without restarts, and one request at a time sent to v2 with an l5d-dtab header."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import pytest

from roost.naming import Dtab
from roost.rpc.http import Headers, HttpClient, Request, client

pytestmark = pytest.mark.slow
GOB_FILE = Path(__file__).resolve().parents[2] / "examples" / "gob" / "gob.py"


def load_gob() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gob_demo", GOB_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gob_demo"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def gob(tmp_path: Path) -> AsyncIterator[tuple[object, HttpClient]]:
    demo = load_gob().Gob(tmp_path)
    await demo.start()
    caller = client(demo.mesh.servers[0].address, label="user")
    try:
        yield demo, caller
    finally:
        await caller.close()
        await demo.stop()


async def version(caller: HttpClient, **headers: str) -> str:
    req = Request("GET", "/gob?text=hi&size=2", Headers([("Host", "web"), *headers.items()]))
    rep = await caller(req)
    assert rep.status == 200, rep.body
    return rep.headers.get("x-gen-version", "?")


async def set_dtab(demo: object, text: str) -> None:
    """Write namerd's dtab and wait (bounded) until the mesh has read it."""
    watcher = demo.mesh.watchers[0]  # type: ignore[attr-defined]
    seen = watcher.updates
    await demo.namerd.dtabs.put("default", Dtab.read(text))  # type: ignore[attr-defined]
    async with asyncio.timeout(1.0):  # the bound: picked up within 1 s
        while watcher.updates == seen:
            await asyncio.sleep(0.01)


async def test_the_gob_demo(gob: tuple[object, HttpClient]) -> None:
    demo, caller = gob
    assert await version(caller) == "v1"
    rep = await caller(Request("GET", "/gob?size=3", Headers([("Host", "web")])))
    assert rep.status == 200 and len(rep.body.split()) == 3  # a word from word, three times

    # the canary: a tenth of gen's traffic to gen-v2, by editing namerd's dtab
    await set_dtab(
        demo, "/svc => /#/io.l5d.fs; /svc/gen => 9 * /#/io.l5d.fs/gen & 1 * /#/io.l5d.fs/gen-v2"
    )
    counts: Counter[str] = Counter()
    for _ in range(1000):
        counts[await version(caller)] += 1
    assert 0.07 <= counts["v2"] / 1000 <= 0.13, counts  # 10 % +- 3 %

    # the full cut-over, no restart: every request on v2 within a second
    await set_dtab(demo, "/svc => /#/io.l5d.fs; /svc/gen => /#/io.l5d.fs/gen-v2")
    changed = time.monotonic()
    while await version(caller) != "v2":
        assert time.monotonic() - changed < 1.0
    assert {await version(caller) for _ in range(50)} == {"v2"}

    # back to v1 for everyone; one request at a time goes to v2 with l5d-dtab, across the
    # web -> gen hop (web passes the dtab on as l5d-ctx-dtab)
    await set_dtab(demo, "/svc => /#/io.l5d.fs")
    while await version(caller) != "v1":
        await asyncio.sleep(0.02)
    override = {"l5d-dtab": "/svc/gen => /#/io.l5d.fs/gen-v2"}
    assert await version(caller, **override) == "v2"
    assert await version(caller) == "v1"
