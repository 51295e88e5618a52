"""Fetch ``CommandInfo.uris`` into a sandbox, like the Mesos fetcher (``docs/fetcher.md``).

Each URI ``{value, executable?, extract? (true), cache?, output_file?}`` is fetched in order:

* ``http://`` and ``https://`` are streamed to disk with httpx (redirects followed, a size
  limit and a timeout); ``file://`` URLs and absolute local paths are copied. Other schemes
  (``hdfs://``, ``s3://``) and relative paths (Mesos' ``--frameworks_home``) are refused.
* The file is named after the last path segment, or ``output_file`` (relative to the sandbox).
* ``executable`` sets mode 0755 and, as in Mesos, skips extraction.
* Otherwise, when ``extract`` is true, archives (``.tar``, ``.tar.gz``, ``.tgz``,
  ``.tar.bz2``, ``.tbz2``, ``.tar.xz``, ``.txz``, ``.zip``, and ``.gz`` for one file) are
  unpacked into the sandbox; the archive itself is kept, as Mesos does. Members that would
  land outside the sandbox (absolute names, ``..``, links pointing out) fail the fetch, and
  the unpacked size counts against ``max_bytes`` like a download does.
* ``cache`` is accepted and ignored: every fetch goes to the source (no fetcher cache yet).

Any failure raises :class:`~roost.cluster.agent.errors.FetchError`
("Failed to fetch '<uri>': ..."); the agent turns it into ``TASK_FAILED`` with
``REASON_CONTAINER_LAUNCH_FAILED``. Blocking file work runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import os
import shutil
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from roost.cluster.agent.errors import FetchError

log = logging.getLogger(__name__)

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
CHUNK = 1 << 16


async def fetch_uris(
    uris: list[dict[str, Any]],
    sandbox: Path,
    *,
    max_bytes: int = 1 << 30,
    http_timeout: float = 60.0,
) -> None:
    """Fetch every URI into ``sandbox`` in order; raises :class:`FetchError` at the first failure.

    ``http_timeout`` bounds connecting and each read (not the whole download).
    """
    if not uris:
        return
    if not isinstance(uris, list):
        raise FetchError("CommandInfo.uris must be a list")
    sandbox = await asyncio.to_thread(lambda: Path(os.path.realpath(sandbox)))
    client: httpx.AsyncClient | None = None
    try:
        for i, uri in enumerate(uris):
            value = uri.get("value") if isinstance(uri, dict) else None
            if not isinstance(value, str) or not value:
                raise FetchError(f"uris[{i}]: 'value' must be a non-empty string")
            try:
                dest = await asyncio.to_thread(_destination, uri, value, sandbox)
                if value.startswith(("http://", "https://")):
                    if client is None:
                        client = httpx.AsyncClient(follow_redirects=True, timeout=http_timeout)
                    await _download(client, value, dest, max_bytes)
                else:
                    await asyncio.to_thread(_copy, _local_path(value), dest, max_bytes)
                if uri.get("executable", False):
                    os.chmod(dest, 0o755)
                elif uri.get("extract", True):
                    await asyncio.to_thread(_extract, dest, sandbox, max_bytes)
            except FetchError as e:
                raise FetchError(f"Failed to fetch '{value}': {e}", uri=value) from None
            except (
                httpx.HTTPError,
                OSError,
                EOFError,
                zlib.error,
                tarfile.TarError,
                zipfile.BadZipFile,
            ) as e:
                reason = str(e) or type(e).__name__
                raise FetchError(f"Failed to fetch '{value}': {reason}", uri=value) from None
            log.debug("fetched %s to %s", value, dest)
    finally:
        if client is not None:
            await client.aclose()


def _destination(uri: dict[str, Any], value: str, sandbox: Path) -> Path:
    name = uri.get("output_file") or os.path.basename(unquote(urlsplit(value).path))
    if not isinstance(name, str) or not name or name in (".", ".."):
        raise FetchError("cannot name the fetched file; set 'output_file'")
    dest = Path(os.path.realpath(sandbox / name))
    if not dest.is_relative_to(sandbox) or dest == sandbox:
        raise FetchError(f"output file '{name}' is outside the sandbox")
    dest.parent.mkdir(parents=True, exist_ok=True)
    return dest


def _local_path(value: str) -> Path:
    if value.startswith("file://"):
        parts = urlsplit(value)
        if parts.netloc not in ("", "localhost"):
            raise FetchError(f"file URI host '{parts.netloc}' is not this machine")
        value = unquote(parts.path)
    elif "://" in value:
        raise FetchError(f"unsupported URI scheme '{value.split('://', 1)[0]}'")
    if not value.startswith("/"):
        raise FetchError("relative paths are not supported; give an absolute path or a URL")
    return Path(value)


async def _download(client: httpx.AsyncClient, url: str, dest: Path, max_bytes: int) -> None:
    partial = dest.with_name(dest.name + ".partial")
    try:
        async with client.stream("GET", url) as resp:
            if resp.status_code != 200:
                raise FetchError(f"HTTP {resp.status_code} {resp.reason_phrase}")
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(f"{declared} bytes exceed the {max_bytes}-byte limit")
            size = 0
            with await asyncio.to_thread(open, partial, "wb") as out:
                async for chunk in resp.aiter_bytes(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchError(f"download exceeds the {max_bytes}-byte limit")
                    out.write(chunk)
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)


def _copy(src: Path, dest: Path, max_bytes: int) -> None:
    if not src.is_file():
        what = "is not a regular file" if src.exists() else "does not exist"
        raise FetchError(f"'{src}' {what}")
    if src.stat().st_size > max_bytes:
        raise FetchError(f"'{src}' is larger than the {max_bytes}-byte limit")
    shutil.copyfile(src, dest)


def _extract(archive: Path, sandbox: Path, max_bytes: int) -> None:
    name = archive.name.lower()
    if name.endswith(TAR_SUFFIXES):
        _extract_tar(archive, sandbox, max_bytes)
    elif name.endswith(".zip"):
        _extract_zip(archive, sandbox, max_bytes)
    elif name.endswith(".gz"):
        _gunzip(archive, archive.with_name(archive.name[:-3]), max_bytes)


def _inside(sandbox: Path, member: str, base: Path | None = None) -> bool:
    target = os.path.realpath(os.path.join(base or sandbox, member))
    return Path(target).is_relative_to(sandbox)


def _extract_tar(archive: Path, sandbox: Path, max_bytes: int) -> None:
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        total = 0
        for m in members:
            if os.path.isabs(m.name) or not _inside(sandbox, m.name):
                raise FetchError(f"archive member '{m.name}' would escape the sandbox")
            if m.issym() and not _inside(sandbox, m.linkname, (sandbox / m.name).parent):
                raise FetchError(f"archive link '{m.name}' points outside the sandbox")
            if m.islnk() and not _inside(sandbox, m.linkname):
                raise FetchError(f"archive link '{m.name}' points outside the sandbox")
            total += m.size
        if total > max_bytes:
            raise FetchError(f"archive unpacks to {total} bytes, over the {max_bytes} limit")
        tar.extractall(sandbox, members=members, filter="data")


def _extract_zip(archive: Path, sandbox: Path, max_bytes: int) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for info in infos:
            if os.path.isabs(info.filename) or not _inside(sandbox, info.filename):
                raise FetchError(f"archive member '{info.filename}' would escape the sandbox")
        total = sum(i.file_size for i in infos)
        if total > max_bytes:
            raise FetchError(f"archive unpacks to {total} bytes, over the {max_bytes} limit")
        for info in infos:
            path = zf.extract(info, sandbox)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():  # keep exec bits as `unzip` (used by Mesos) does
                os.chmod(path, mode & 0o755)


def _gunzip(src: Path, dest: Path, max_bytes: int) -> None:
    size = 0
    with gzip.open(src, "rb") as fin, open(dest, "wb") as fout:
        while chunk := fin.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(f"'{src.name}' unpacks to more than {max_bytes} bytes")
            fout.write(chunk)
