"""``roost dtab get|put|watch``: read, write and follow a namerd namespace."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from roost.cli.common import fail

if TYPE_CHECKING:
    import httpx

app = typer.Typer(help="Read, write and follow dtabs in namerd.", no_args_is_help=True)

NamerdOption = Annotated[
    str, typer.Option("--namerd", envvar="ROOST_NAMERD", help="namerd's HTTP API base URL.")
]
Namespace = Annotated[str, typer.Argument(help="The dtab namespace.")]


def _url(namerd: str, namespace: str) -> str:
    return f"{namerd.rstrip('/')}/api/1/dtabs/{namespace}"


def _call(method: str, url: str, **kw: object) -> httpx.Response:
    import httpx  # loaded by the commands that talk to namerd, not by every roost process

    try:
        return httpx.request(method, url, timeout=10, **kw)  # type: ignore[arg-type]
    except httpx.HTTPError as e:
        fail(f"cannot reach namerd at {url}: {e}")


@app.command("get")
def get_command(
    namespace: Namespace = "default", namerd: NamerdOption = "http://127.0.0.1:4180"
) -> None:
    """Print the namespace's dtab, one dentry per line, and its version (ETag) on stderr."""
    rep = _call("GET", _url(namerd, namespace), headers={"Accept": "application/dtab"})
    if rep.status_code != 200:
        fail(f"{rep.status_code}: {rep.text.strip()}", code=1)
    for dentry in filter(None, rep.text.split(";")):
        typer.echo(dentry.strip() + ";")
    typer.echo(f"ETag: {rep.headers.get('etag', '')}", err=True)


@app.command("put")
def put_command(
    namespace: Namespace = "default",
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Read the dtab from FILE (default: stdin).")
    ] = None,
    if_match: Annotated[
        str | None, typer.Option("--if-match", help="Only if still at this version (ETag).")
    ] = None,
    namerd: NamerdOption = "http://127.0.0.1:4180",
) -> None:
    """Create or replace the namespace's dtab (compare-and-set with --if-match)."""
    try:
        text = file.read_text() if file is not None else sys.stdin.read()
    except OSError as e:
        fail(f"cannot read {file}: {e.strerror or e}")
    headers = {"Content-Type": "application/dtab"}
    if if_match:
        headers["If-Match"] = if_match
    rep = _call("PUT", _url(namerd, namespace), content=text.encode(), headers=headers)
    if rep.status_code != 204:
        fail(f"{rep.status_code}: {rep.text.strip()}", code=1)
    typer.echo(f"ETag: {rep.headers.get('etag', '')}")


@app.command("watch")
def watch_command(
    namespace: Namespace = "default", namerd: NamerdOption = "http://127.0.0.1:4180"
) -> None:
    """Print the namespace's dtab now and each time it changes (Ctrl-C stops)."""
    import httpx

    url = _url(namerd, namespace) + "?watch=true"
    try:
        with httpx.stream(
            "GET", url, headers={"Accept": "application/dtab"}, timeout=httpx.Timeout(10, read=None)
        ) as rep:
            if rep.status_code != 200:
                fail(f"{rep.status_code}: {rep.read().decode().strip()}", code=1)
            for line in rep.iter_lines():
                typer.echo(line)
    except httpx.HTTPError as e:
        fail(f"cannot reach namerd at {url}: {e}")
    except KeyboardInterrupt:
        pass
