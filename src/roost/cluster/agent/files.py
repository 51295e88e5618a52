"""The Mesos sandbox files API (``src/files/files.cpp``, ``docs/sandbox.md``) for Starlette.

* ``GET /files/browse?path=`` → ``[{path, nlink, size, mtime, mode, uid, gid}]`` sorted by
  path (a file lists itself); ``mode`` is ``ls`` style, ``uid``/``gid`` are names when known.
* ``GET /files/read?path=&offset=&length=`` → ``{"offset", "data"}``. ``offset`` defaults to
  -1, which answers the file size and no data (how the web UI starts tailing); one read is
  capped at 16 pages = 64 KiB; an offset at or past the end answers the size and no data.
  Mesos puts the raw bytes in the JSON string; roost decodes them as UTF-8 with U+FFFD for
  invalid sequences, so a multi-byte character cut by a chunk edge shows as U+FFFD while
  ``offset`` always counts bytes.
* ``GET /files/download?path=`` → the raw bytes as an attachment, streamed.
* ``GET /files/debug`` → ``{virtual: real}``; virtual paths are the real sandbox paths, as
  shown in the agent's ``/state`` ``executors[].directory``.
* The ``.json`` suffixes deprecated in Mesos 0.25 still work, and so does ``?jsonp=cb``.

Errors are plain text in Mesos' words: 400 ``Expecting 'path' to be present``, ``Failed to
parse offset: ...``, ``Negative length provided: -5``, ``Cannot read a directory``; 404 when
the path does not exist; 403 when it resolves (symlinks and ``..`` followed first, and once
more on the opened file) outside every root returned by ``roots()``.
"""

from __future__ import annotations

import asyncio
import grp
import json
import mimetypes
import os
import pwd
import re
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

MAX_READ = 16 * 4096
CHUNK = 1 << 16
_JSONP = re.compile(r"^[A-Za-z_$][\w$.]{0,63}$")


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def files_routes(roots: Callable[[], list[Path]]) -> list[Route]:
    """Routes for ``/files/*``; ``roots()`` lists the directories that may be served."""

    def allowed() -> list[str]:
        return [os.path.realpath(r) for r in roots()]

    async def browse(request: Request) -> Response:
        raw = _path_param(request)
        return _json(request, await asyncio.to_thread(_browse, raw, allowed()))

    async def read(request: Request) -> Response:
        raw = _path_param(request)
        offset = _int_param(request, "offset", -1)
        length = _int_param(request, "length", -1)
        return _json(request, await asyncio.to_thread(_read, raw, allowed(), offset, length))

    async def download(request: Request) -> Response:
        raw = _path_param(request)
        fd, st = await asyncio.to_thread(_open, raw, allowed())
        if stat.S_ISDIR(st.st_mode):
            os.close(fd)
            raise _Refused(400, "Cannot download a directory")
        name = os.path.basename(raw.rstrip("/"))
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        headers = {"Content-Length": str(st.st_size), "Content-Disposition": _attachment(name)}
        return StreamingResponse(_stream(fd, st.st_size), media_type=kind, headers=headers)

    async def debug(request: Request) -> Response:
        return _json(request, {str(r): str(r) for r in roots()})

    def guarded(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                response: Response = await handler(request)
                return response
            except _Refused as e:
                return PlainTextResponse(e.message, status_code=e.status)
            except OSError as e:
                return PlainTextResponse(f"Failed to access the file: {e}", status_code=500)

        return endpoint

    routes = []
    for name, handler in (
        ("browse", browse),
        ("read", read),
        ("download", download),
        ("debug", debug),
    ):
        for suffix in ("", ".json"):
            routes.append(Route(f"/files/{name}{suffix}", guarded(handler), methods=["GET"]))
    return routes


def _path_param(request: Request) -> str:
    raw = request.query_params.get("path")
    if not raw:
        raise _Refused(400, "Expecting 'path' to be present")
    return raw


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise _Refused(
            400, f"Failed to parse {name}: Failed to convert '{raw}' to number"
        ) from None
    if value < -1:
        raise _Refused(400, f"Negative {name} provided: {value}")
    return value


def _json(request: Request, body: Any) -> Response:
    text = json.dumps(body)
    callback = request.query_params.get("jsonp")
    if callback is None:
        return Response(text, media_type="application/json")
    if not _JSONP.match(callback):
        raise _Refused(400, "Invalid 'jsonp' callback name")
    return Response(f"{callback}({text});", media_type="text/javascript")


def _within(real: str, allowed: list[str]) -> bool:
    return any(real == root or real.startswith(root.rstrip("/") + "/") for root in allowed)


def _open(raw: str, allowed: list[str]) -> tuple[int, os.stat_result]:
    """Open ``raw`` after checking where it really is; check again through the open fd."""
    try:
        real = os.path.realpath(os.path.join("/", raw))
    except ValueError:
        raise _Refused(400, f"Invalid path '{raw}'") from None
    if not _within(real, allowed):
        raise _Refused(403, f"Access to '{raw}' is forbidden: it is outside the sandboxes")
    try:
        fd = os.open(real, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        raise _Refused(404, f"Failed to find '{raw}'") from None
    except OSError as e:
        raise _Refused(403, f"Failed to open '{raw}': {e.strerror}") from None
    proc = f"/proc/self/fd/{fd}"
    if os.path.exists(proc) and not _within(os.path.realpath(proc), allowed):
        os.close(fd)  # a component was swapped for a symlink while we looked
        raise _Refused(403, f"Access to '{raw}' is forbidden: it is outside the sandboxes")
    st = os.fstat(fd)
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        os.close(fd)  # FIFOs and devices would block or never end
        raise _Refused(400, f"'{raw}' is not a regular file or directory")
    return fd, st


def _browse(raw: str, allowed: list[str]) -> list[dict[str, Any]]:
    fd, st = _open(raw, allowed)
    real = os.path.realpath(os.path.join("/", raw))
    try:
        base = os.path.normpath(os.path.join("/", raw))
        if not stat.S_ISDIR(st.st_mode):
            return [_entry(base, st)]
        out = []
        with os.scandir(fd) as entries:
            for e in entries:
                try:
                    st_e = e.stat(follow_symlinks=False)
                    # show what a link points to only when that is inside the sandboxes too
                    if e.is_symlink() and _within(os.path.realpath(f"{real}/{e.name}"), allowed):
                        st_e = e.stat()
                except OSError:
                    continue
                out.append(_entry(os.path.join(base, e.name), st_e))
        return sorted(out, key=lambda d: str(d["path"]))
    finally:
        os.close(fd)


def _read(raw: str, allowed: list[str], offset: int, length: int) -> dict[str, Any]:
    fd, st = _open(raw, allowed)
    try:
        if stat.S_ISDIR(st.st_mode):
            raise _Refused(400, "Cannot read a directory")
        size = st.st_size
        if offset == -1 or offset >= size:
            return {"offset": size, "data": ""}
        want = MAX_READ if length == -1 else min(length, MAX_READ)
        data = os.pread(fd, want, offset)
        return {"offset": offset, "data": data.decode("utf-8", errors="replace")}
    finally:
        os.close(fd)


async def _stream(fd: int, size: int) -> AsyncIterator[bytes]:
    """Send exactly ``size`` bytes (the log may grow meanwhile; Content-Length is fixed)."""
    try:
        sent = 0
        while sent < size:
            chunk = await asyncio.to_thread(os.pread, fd, min(CHUNK, size - sent), sent)
            if not chunk:
                break
            sent += len(chunk)
            yield chunk
    finally:
        os.close(fd)


_names: dict[tuple[str, int], str] = {}


def _entry(path: str, st: os.stat_result) -> dict[str, Any]:
    return {
        "path": path,
        "nlink": st.st_nlink,
        "size": st.st_size,
        "mtime": st.st_mtime,
        "mode": stat.filemode(st.st_mode),
        "uid": _name("u", st.st_uid),
        "gid": _name("g", st.st_gid),
    }


def _name(kind: str, ident: int) -> str:
    key = (kind, ident)
    if key not in _names:
        try:
            _names[key] = (
                pwd.getpwuid(ident).pw_name if kind == "u" else grp.getgrgid(ident).gr_name
            )
        except KeyError:
            _names[key] = str(ident)
    return _names[key]


def _attachment(name: str) -> str:
    if name.isascii() and '"' not in name and "\\" not in name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename*=utf-8''{quote(name)}"
