"""The sandbox files API over real HTTP (ASGI transport): browse, read, download, refusals."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from roost.cluster.agent.files import MAX_READ, files_routes


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    path = tmp_path / "runs" / "c1"
    path.mkdir(parents=True)
    (path / "stdout").write_text("line one\nline two\n")
    (path / "stderr").write_text("")
    (path / "sub").mkdir()
    (path / "sub" / "inner.txt").write_text("inner\n")
    (path / "big.log").write_bytes(b"x" * (100 * 1024))
    (path / "utf8.txt").write_bytes("héllo".encode() + b"\xff")
    (path / "escape").symlink_to("/etc")
    (path / "passwd").symlink_to("/etc/passwd")
    (path / "alias").symlink_to("stdout")
    os.mkfifo(path / "pipe")
    (tmp_path / "secret.txt").write_text("no\n")
    return path


@pytest.fixture
async def client(sandbox: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=files_routes(lambda: [sandbox]))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
        yield c


async def test_browse_lists_a_directory_sorted_by_path(
    client: httpx.AsyncClient, sandbox: Path
) -> None:
    resp = await client.get("/files/browse", params={"path": str(sandbox)})
    assert resp.status_code == 200
    entries = resp.json()
    names = [e["path"] for e in entries]
    assert names == sorted(names)
    assert names[0] == f"{sandbox}/alias"
    by_name = {os.path.basename(e["path"]): e for e in entries}
    expected = "alias big.log escape passwd pipe stderr stdout sub utf8.txt"
    assert sorted(by_name) == expected.split()
    assert by_name["pipe"]["mode"] == "prw-r--r--"
    assert by_name["sub"]["mode"] == "drwxr-xr-x"
    assert by_name["stdout"]["mode"] == "-rw-r--r--"
    assert by_name["stdout"]["size"] == 18
    assert by_name["stdout"]["uid"] == "root" or os.geteuid() != 0
    assert set(by_name["stdout"]) == {"path", "nlink", "size", "mtime", "mode", "uid", "gid"}
    assert by_name["alias"]["mode"].startswith("-")  # a link inside the sandbox is followed
    assert by_name["escape"]["mode"].startswith("l")  # one leading out is only described


async def test_browse_of_a_file_lists_the_file(client: httpx.AsyncClient, sandbox: Path) -> None:
    resp = await client.get("/files/browse.json", params={"path": f"{sandbox}/sub/inner.txt"})
    assert [e["path"] for e in resp.json()] == [f"{sandbox}/sub/inner.txt"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"offset": 18, "data": ""}),
        ({"offset": "-1"}, {"offset": 18, "data": ""}),
        ({"offset": "0"}, {"offset": 0, "data": "line one\nline two\n"}),
        ({"offset": "5", "length": "3"}, {"offset": 5, "data": "one"}),
        ({"offset": "9", "length": "-1"}, {"offset": 9, "data": "line two\n"}),
        ({"offset": "18"}, {"offset": 18, "data": ""}),
        ({"offset": "1000", "length": "5"}, {"offset": 18, "data": ""}),
    ],
)
async def test_read_returns_data_at_an_offset(
    client: httpx.AsyncClient, sandbox: Path, params: dict[str, str], expected: dict[str, object]
) -> None:
    resp = await client.get("/files/read", params={"path": f"{sandbox}/stdout", **params})
    assert resp.status_code == 200
    assert resp.json() == expected


async def test_read_is_capped_at_sixteen_pages(client: httpx.AsyncClient, sandbox: Path) -> None:
    params = {"path": f"{sandbox}/big.log", "offset": "0", "length": "100000"}
    resp = await client.get("/files/read.json", params=params)
    assert len(resp.json()["data"]) == MAX_READ == 64 * 1024


async def test_read_replaces_invalid_utf8(client: httpx.AsyncClient, sandbox: Path) -> None:
    resp = await client.get("/files/read", params={"path": f"{sandbox}/utf8.txt", "offset": "0"})
    assert resp.json()["data"] == "héllo\ufffd"


async def test_read_follows_links_that_stay_inside(
    client: httpx.AsyncClient, sandbox: Path
) -> None:
    resp = await client.get("/files/read", params={"path": f"{sandbox}/alias", "offset": "0"})
    assert resp.json()["data"].startswith("line one")


async def test_jsonp_wraps_the_body(client: httpx.AsyncClient, sandbox: Path) -> None:
    params = {"path": f"{sandbox}/stdout", "jsonp": "cb"}
    resp = await client.get("/files/read", params=params)
    assert resp.text == 'cb({"offset": 18, "data": ""});'


async def test_download_streams_raw_bytes_as_an_attachment(
    client: httpx.AsyncClient, sandbox: Path
) -> None:
    resp = await client.get("/files/download", params={"path": f"{sandbox}/big.log"})
    assert resp.status_code == 200
    assert resp.content == b"x" * (100 * 1024)
    assert resp.headers["content-disposition"] == 'attachment; filename="big.log"'


async def test_debug_maps_virtual_to_real_paths(client: httpx.AsyncClient, sandbox: Path) -> None:
    for path in ("/files/debug", "/files/debug.json"):
        assert (await client.get(path)).json() == {str(sandbox): str(sandbox)}


BAD_REQUESTS = [
    ("browse", {}, 400, "Expecting 'path' to be present"),
    ("read", {}, 400, "Expecting 'path' to be present"),
    ("download", {"path": ""}, 400, "Expecting 'path' to be present"),
    ("read", {"path": "{sb}/stdout", "offset": "abc"}, 400, "Failed to parse offset: "),
    ("read", {"path": "{sb}/stdout", "offset": "1.5"}, 400, "Failed to parse offset: "),
    ("read", {"path": "{sb}/stdout", "offset": "-5"}, 400, "Negative offset provided: -5"),
    ("read", {"path": "{sb}/stdout", "length": "x"}, 400, "Failed to parse length: "),
    ("read", {"path": "{sb}/stdout", "length": "-2"}, 400, "Negative length provided: -2"),
    ("read", {"path": "{sb}"}, 400, "Cannot read a directory"),
    ("download", {"path": "{sb}/sub"}, 400, "Cannot download a directory"),
    ("read", {"path": "{sb}/stdout", "jsonp": "alert(1)"}, 400, "jsonp"),
    ("browse", {"path": "{sb}/missing"}, 404, "Failed to find"),
    ("read", {"path": "{sb}/missing"}, 404, "Failed to find"),
    ("download", {"path": "{sb}/missing"}, 404, "Failed to find"),
    ("read", {"path": "{sb}/../../secret.txt"}, 403, "forbidden"),
    ("read", {"path": "../../../../etc/passwd"}, 403, "forbidden"),
    ("read", {"path": "/etc/passwd"}, 403, "forbidden"),
    ("browse", {"path": "/"}, 403, "forbidden"),
    ("browse", {"path": "{sb}/escape"}, 403, "forbidden"),
    ("read", {"path": "{sb}/escape/passwd"}, 403, "forbidden"),
    ("read", {"path": "{sb}/passwd"}, 403, "forbidden"),
    ("download", {"path": "{sb}/passwd"}, 403, "forbidden"),
    ("read", {"path": "{sb}/stdout\x00"}, 400, "Invalid path"),
    ("read", {"path": "{sb}/pipe"}, 400, "not a regular file"),
    ("download", {"path": "{sb}/pipe"}, 400, "not a regular file"),
]


@pytest.mark.parametrize(("endpoint", "params", "status", "message"), BAD_REQUESTS)
async def test_bad_requests_get_plain_text_errors(
    client: httpx.AsyncClient,
    sandbox: Path,
    endpoint: str,
    params: dict[str, str],
    status: int,
    message: str,
) -> None:
    query = {k: v.replace("{sb}", str(sandbox)) for k, v in params.items()}
    resp = await client.get(f"/files/{endpoint}", params=query)
    assert resp.status_code == status
    assert message in resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    assert "root:" not in resp.text


async def test_only_get_is_allowed(client: httpx.AsyncClient, sandbox: Path) -> None:
    resp = await client.post("/files/read", params={"path": f"{sandbox}/stdout"})
    assert resp.status_code == 405


async def test_roots_are_read_on_every_request(sandbox: Path, tmp_path: Path) -> None:
    roots: list[Path] = []
    app = Starlette(routes=files_routes(lambda: roots))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as c:
        params = {"path": f"{sandbox}/stdout", "offset": "0"}
        assert (await c.get("/files/read", params=params)).status_code == 403
        roots.append(sandbox)
        assert json.loads((await c.get("/files/read", params=params)).text)["offset"] == 0
