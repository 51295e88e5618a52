"""Fetching CommandInfo.uris: local and HTTP sources, extraction, modes and refusals."""

from __future__ import annotations

import functools
import io
import os
import stat
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from roost.cluster.agent.errors import FetchError, LaunchError
from roost.cluster.agent.fetcher import fetch_uris


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    path = tmp_path / "sandbox"
    path.mkdir()
    return path


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "source"
    path.mkdir()
    (path / "data.txt").write_text("hello\n")
    (path / "run.sh").write_text("#!/bin/sh\necho ran\n")
    with tarfile.open(path / "app.tar.gz", "w:gz") as tar:
        _add(tar, "app/bin/start", b"#!/bin/sh\n", 0o755)
        _add(tar, "app/README", b"read me\n", 0o644)
    with zipfile.ZipFile(path / "lib.zip", "w") as zf:
        zf.writestr("lib/mod.py", "x = 1\n")
    return path


@pytest.fixture
def http_base(source: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(source))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


async def test_local_path_is_copied_into_the_sandbox(source: Path, sandbox: Path) -> None:
    await fetch_uris([{"value": str(source / "data.txt")}], sandbox)
    assert (sandbox / "data.txt").read_text() == "hello\n"


async def test_file_url_with_output_file_is_renamed(source: Path, sandbox: Path) -> None:
    uri = {"value": f"file://{source}/data.txt", "output_file": "conf/settings.txt"}
    await fetch_uris([uri], sandbox)
    assert (sandbox / "conf" / "settings.txt").read_text() == "hello\n"
    assert not (sandbox / "data.txt").exists()


async def test_executable_sets_mode_0755(source: Path, sandbox: Path) -> None:
    await fetch_uris([{"value": str(source / "run.sh"), "executable": True}], sandbox)
    assert stat.S_IMODE((sandbox / "run.sh").stat().st_mode) == 0o755


async def test_tar_gz_is_extracted_and_kept(source: Path, sandbox: Path) -> None:
    await fetch_uris([{"value": str(source / "app.tar.gz")}], sandbox)
    assert (sandbox / "app" / "README").read_text() == "read me\n"
    assert os.access(sandbox / "app" / "bin" / "start", os.X_OK)
    assert (sandbox / "app.tar.gz").is_file()


async def test_zip_is_extracted(source: Path, sandbox: Path) -> None:
    await fetch_uris([{"value": str(source / "lib.zip")}], sandbox)
    assert (sandbox / "lib" / "mod.py").read_text() == "x = 1\n"


@pytest.mark.parametrize("flags", [{"extract": False}, {"executable": True}])
async def test_archives_stay_packed_when_not_extracting(
    flags: dict[str, bool], source: Path, sandbox: Path
) -> None:
    await fetch_uris([{"value": str(source / "app.tar.gz"), **flags}], sandbox)
    assert sorted(p.name for p in sandbox.iterdir()) == ["app.tar.gz"]


async def test_http_uris_are_downloaded_and_extracted(http_base: str, sandbox: Path) -> None:
    await fetch_uris(
        [{"value": f"{http_base}/data.txt"}, {"value": f"{http_base}/app.tar.gz"}], sandbox
    )
    assert (sandbox / "data.txt").read_text() == "hello\n"
    assert (sandbox / "app" / "README").is_file()


async def test_http_error_status_fails_the_fetch(http_base: str, sandbox: Path) -> None:
    with pytest.raises(FetchError, match=r"Failed to fetch '.*/nope\.txt': HTTP 404"):
        await fetch_uris([{"value": f"{http_base}/nope.txt"}], sandbox)
    assert list(sandbox.iterdir()) == []


async def test_downloads_over_the_size_limit_fail(http_base: str, sandbox: Path) -> None:
    with pytest.raises(FetchError, match="limit"):
        await fetch_uris([{"value": f"{http_base}/data.txt"}], sandbox, max_bytes=3)
    assert list(sandbox.iterdir()) == []


async def test_unreachable_server_fails_the_fetch(sandbox: Path) -> None:
    with pytest.raises(FetchError, match=r"Failed to fetch 'http://127\.0\.0\.1:1/x'"):
        await fetch_uris([{"value": "http://127.0.0.1:1/x"}], sandbox)


async def test_fetch_errors_are_launch_errors(sandbox: Path) -> None:
    with pytest.raises(LaunchError):
        await fetch_uris([{"value": "/no/such/file"}], sandbox)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ({"value": "/no/such/file"}, "does not exist"),
        ({"value": "file:///no/such/file"}, "does not exist"),
        ({"value": "/tmp"}, "is not a regular file"),
        ({"value": "relative/path.txt"}, "relative paths are not supported"),
        ({"value": "hdfs://nn/data"}, "unsupported URI scheme 'hdfs'"),
        ({"value": "file://otherhost/etc/hosts"}, "not this machine"),
        ({"value": ""}, "'value' must be a non-empty string"),
        ({}, "'value' must be a non-empty string"),
        ({"value": "/etc/hosts", "output_file": "../escape"}, "outside the sandbox"),
        ({"value": "/etc/hosts", "output_file": "/etc/escape"}, "outside the sandbox"),
        ({"value": "file:///"}, "set 'output_file'"),
    ],
)
async def test_bad_uris_raise_fetch_error(uri: dict[str, str], message: str, sandbox: Path) -> None:
    with pytest.raises(FetchError, match=message):
        await fetch_uris([uri], sandbox)


def _evil_tar(path: Path, member: str, link: str | None = None) -> None:
    with tarfile.open(path, "w:gz") as tar:
        if link is None:
            _add(tar, member, b"pwned\n")
        else:
            info = tarfile.TarInfo(member)
            info.type, info.linkname = tarfile.SYMTYPE, link
            tar.addfile(info)


@pytest.mark.parametrize(
    ("member", "link"),
    [("../escaped.txt", None), ("/tmp/roost-escaped.txt", None), ("ok/link", "../../..")],
)
async def test_archive_members_escaping_the_sandbox_are_refused(
    member: str, link: str | None, tmp_path: Path, sandbox: Path
) -> None:
    archive = tmp_path / "evil.tar.gz"
    _evil_tar(archive, member, link)
    with pytest.raises(FetchError, match=r"(outside|escape) the sandbox"):
        await fetch_uris([{"value": str(archive)}], sandbox)
    assert not (tmp_path / "escaped.txt").exists()
    assert not Path("/tmp/roost-escaped.txt").exists()


async def test_zip_members_escaping_the_sandbox_are_refused(tmp_path: Path, sandbox: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../escaped.txt", "pwned\n")
    with pytest.raises(FetchError, match="escape the sandbox"):
        await fetch_uris([{"value": str(archive)}], sandbox)
    assert not (tmp_path / "escaped.txt").exists()


async def test_corrupt_archives_fail_the_fetch(tmp_path: Path, sandbox: Path) -> None:
    archive = tmp_path / "broken.tgz"
    archive.write_bytes(b"this is not gzip")
    with pytest.raises(FetchError, match="Failed to fetch"):
        await fetch_uris([{"value": str(archive)}], sandbox)
